// Child processes for test peers: spawn, capture output, wait for a line, stop by PID.
// Trusts: the programs it starts to print their readiness lines and to exit on SIGTERM; the
// kernel's parent-death signal (util-linux setpriv --pdeathsig) and the reaper (registry.ts) to
// kill a child whose test process died without running its handlers.
// Fails: waitForLine rejects on timeout or when the child exits first, with the output tail in
// the message; stop() escalates SIGTERM -> SIGKILL after a bound and never throws; a registry
// stops everything that is still running (afterAll: stopAll()) and SIGKILLs it on process exit.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { defaultRegistry, forgetOnDeath, killOnDeath } from './registry.js';
import type { ProcessRegistry, Stoppable } from './registry.js';

// The registry API is part of this module's public face (tests import stopAll from here).
export { defaultRegistry, forgetOnDeath, killOnDeath, ProcessRegistry, stopAll } from './registry.js';
export type { Stoppable } from './registry.js';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type StreamName = 'stdout' | 'stderr';

export interface OutputLine {
  readonly stream: StreamName;
  readonly text: string;
}

export interface StartOptions {
  /** For error messages and logs; defaults to the command's base name. */
  readonly name?: string;
  readonly cwd?: string;
  /** Added to (and overriding) process.env. */
  readonly env?: Readonly<Record<string, string>>;
  /** How many output lines to keep in memory (ring buffer). Default 5000. */
  readonly keepLines?: number;
  /** Also append all output, prefixed by stream, to this file. */
  readonly logFile?: string;
  /** Kill the child if the thread that started it dies (setpriv --pdeathsig KILL). Default true. */
  readonly dieWithParent?: boolean;
  /** Keep a pipe to the child's stdin (see write()); default: stdin is /dev/null. */
  readonly stdin?: boolean;
  readonly registry?: ProcessRegistry;
}

export interface StopOptions {
  /** How long to wait after SIGTERM before SIGKILL. Default 5000 ms. */
  readonly graceMs?: number;
  readonly signal?: NodeJS.Signals;
}

const SETPRIV = '/usr/bin/setpriv';

type LineListener = (line: OutputLine) => void;

/** A started child process with its recent output. */
export class ManagedProcess implements Stoppable {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;

  readonly #child: ChildProcess;
  readonly #lines: OutputLine[] = [];
  readonly #keep: number;
  readonly #listeners = new Set<LineListener>();
  readonly #registry: ProcessRegistry;
  readonly #logFile: string | undefined;
  #exit: ExitInfo | undefined;
  #spawnError: Error | undefined;

  constructor(command: string, args: readonly string[], opts: StartOptions = {}) {
    this.command = command;
    this.args = args;
    this.name = opts.name ?? command.split('/').pop() ?? command;
    this.#keep = opts.keepLines ?? 5000;
    this.#registry = opts.registry ?? defaultRegistry();
    this.#logFile = opts.logFile;
    const wrap = (opts.dieWithParent ?? true) && existsSync(SETPRIV);
    const file = wrap ? SETPRIV : command;
    const argv = wrap ? ['--pdeathsig', 'KILL', '--', command, ...args] : [...args];
    this.#child = spawn(file, argv, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: false,
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        forgetOnDeath(this.pid);
        this.#registry.delete(this);
        resolve(this.#exit);
      });
      this.#child.once('error', (err) => {
        // spawn failure (ENOENT...): no 'exit' follows
        this.#spawnError = err;
        this.#exit = { code: null, signal: null };
        this.#registry.delete(this);
        resolve(this.#exit);
      });
    });
    this.pid = this.#child.pid ?? -1;
    this.#child.stdin?.on('error', () => undefined); // a child that exits early must not crash the test
    killOnDeath(this.pid);
    this.#pipe('stdout');
    this.#pipe('stderr');
    this.#registry.add(this);
  }

  #pipe(stream: StreamName): void {
    const src = this.#child[stream];
    if (src === null) return;
    let partial = '';
    src.setEncoding('utf8');
    src.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) this.#push({ stream, text: p.replace(/\r$/, '') });
    });
    src.on('end', () => {
      if (partial !== '') this.#push({ stream, text: partial });
      partial = '';
    });
  }

  #push(line: OutputLine): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#keep) this.#lines.splice(0, this.#lines.length - this.#keep);
    if (this.#logFile !== undefined) {
      try {
        appendFileSync(this.#logFile, `${line.stream}: ${line.text}\n`);
      } catch {
        // the log file is a convenience; its loss must not break the test
      }
    }
    for (const l of this.#listeners) l(line);
  }

  /** Writes to the child's stdin (started with `stdin: true`); false when there is no pipe. */
  write(data: string): boolean {
    const s = this.#child.stdin;
    if (s === null || s.destroyed) return false;
    s.write(data);
    return true;
  }

  /** Exit status, or undefined while running. */
  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Recent output lines (both streams, in arrival order). */
  lines(stream?: StreamName): string[] {
    return this.#lines.filter((l) => stream === undefined || l.stream === stream).map((l) => l.text);
  }

  /** The last `n` output lines as one string, for error messages. */
  tail(n = 40): string {
    return this.#lines
      .slice(-n)
      .map((l) => `  [${this.name} ${l.stream}] ${l.text}`)
      .join('\n');
  }

  /** Describes how the child ended, with its output tail. */
  describeExit(): string {
    const e = this.#exit;
    const how =
      this.#spawnError !== undefined
        ? `failed to start: ${this.#spawnError.message}`
        : e === undefined
          ? 'is running'
          : `exited with code ${String(e.code)} signal ${String(e.signal)}`;
    return `${this.name} (pid ${this.pid}) ${how}\n${this.tail()}`;
  }

  /**
   * Resolves with the first line (already received or future) matching `re`.
   * Rejects after `timeoutMs` or when the child exits without printing it.
   */
  waitForLine(re: RegExp, timeoutMs: number, stream?: StreamName): Promise<RegExpMatchArray> {
    const matches = (l: OutputLine): RegExpMatchArray | null =>
      stream !== undefined && l.stream !== stream ? null : re.exec(l.text);
    for (const l of this.#lines) {
      const m = matches(l);
      if (m !== null) return Promise.resolve(m);
    }
    return new Promise<RegExpMatchArray>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(onLine);
      };
      const onLine: LineListener = (l) => {
        const m = matches(l);
        if (m !== null) {
          done();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${String(re)} from ${this.describeExit()}`));
      }, timeoutMs);
      this.#listeners.add(onLine);
      void this.exited.then(() => {
        // let the last buffered lines arrive before giving up
        setImmediate(() => {
          if (!this.#listeners.has(onLine)) return;
          done();
          reject(new Error(`waiting for ${String(re)}: ${this.describeExit()}`));
        });
      });
    });
  }

  /** Waits up to `timeoutMs` for the child to exit; undefined if it is still running. */
  async waitExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    if (this.#exit !== undefined) return this.#exit;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal by PID; false when the child is gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (this.#exit !== undefined || this.pid <= 0) return false;
    try {
      process.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM (or opts.signal), then SIGKILL after opts.graceMs. Never throws. */
  async stop(opts: StopOptions = {}): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.signal(opts.signal ?? 'SIGTERM');
    const first = await this.waitExit(opts.graceMs ?? 5000);
    if (first !== undefined) return first;
    this.signal('SIGKILL');
    const second = await this.waitExit(5000);
    return second ?? { code: null, signal: 'SIGKILL' };
  }

  killNow(): void {
    this.signal('SIGKILL');
  }
}

/** Starts `command` with `args` (no shell) and tracks it in the registry. */
export function startProcess(command: string, args: readonly string[], opts: StartOptions = {}): ManagedProcess {
  return new ManagedProcess(command, args, opts);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Buffer;
}

/**
 * Runs a command to completion and collects its output. The exit code is returned, not thrown.
 * Rejects (after killing it) when it runs longer than timeoutMs (default 60 s).
 */
export function runCommand(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = performance.now();
  const reg = defaultRegistry();
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const entry: Stoppable = {
      name: command,
      stop: () => Promise.resolve(child.kill('SIGKILL')),
      killNow: () => child.kill('SIGKILL'),
    };
    reg.add(entry);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reg.delete(entry);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reg.delete(entry);
      const res: RunResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        elapsedMs: performance.now() - started,
      };
      if (timedOut) {
        reject(new Error(`${command} ${args.join(' ')}: killed after ${timeoutMs} ms\n${res.stdout}\n${res.stderr}`));
      } else {
        resolve(res);
      }
    });
    if (opts.input !== undefined && child.stdin !== null) child.stdin.end(opts.input);
  });
}

/** Like runCommand, but throws unless the command exits 0. */
export async function runChecked(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await runCommand(command, args, opts);
  if (res.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${String(res.code)}:\n${res.stdout}\n${res.stderr}`);
  }
  return res;
}
