// Who stops what: the registry of started peers, and the reaper that kills them if we die.
// Trusts: the kernel to close our end of the reaper's stdin pipe when this process dies, however
// it dies (SIGKILL included); PIDs written to the reaper are removed once stopped normally, so a
// reused PID is never killed.
// Fails: never throws; a reaper that cannot start leaves the in-process hooks ('exit', SIGINT,
// SIGTERM, SIGHUP), which cover every death except SIGKILL.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';

/** Something the registry can stop: gracefully (async) or, when the process is exiting, at once (sync). */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<unknown>;
  killNow(): void;
}

/** Tracks what a test started, so afterAll can stop it and process exit can kill it. */
export class ProcessRegistry {
  readonly #live = new Set<Stoppable>();

  add(s: Stoppable): void {
    this.#live.add(s);
  }

  delete(s: Stoppable): void {
    this.#live.delete(s);
  }

  get size(): number {
    return this.#live.size;
  }

  /** Stops everything still registered, newest first (a gateway before the peers it uses). */
  async stopAll(): Promise<void> {
    const all = [...this.#live].reverse();
    for (const s of all) {
      await s.stop().catch(() => undefined);
      this.#live.delete(s);
    }
  }

  /** Synchronous last resort, for process 'exit' and fatal signals. */
  killAllNow(): void {
    for (const s of this.#live) {
      try {
        s.killNow();
      } catch {
        // already gone
      }
    }
    this.#live.clear();
  }
}

// One registry per process even if this module is evaluated more than once (vitest isolation).
const REGISTRY_KEY = Symbol.for('moat.test.harness.registry');
type GlobalWithRegistry = typeof globalThis & { [REGISTRY_KEY]?: ProcessRegistry };

function installExitHooks(reg: ProcessRegistry): void {
  process.on('exit', () => reg.killAllNow());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      reg.killAllNow();
      // If we are the only listener, restore the default action (terminate) and re-raise.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

// A bash "reaper" that outlives a SIGKILLed test process: it reads "PID" / "-PID" lines on its
// stdin and, when that pipe closes (we died, however), SIGTERMs and then SIGKILLs whatever is
// still listed. It covers what PR_SET_PDEATHSIG cannot: children that change credentials (the
// kernel clears the signal on setuid: smtp-sink -u nobody) and grandchildren (the Postfix master).
const REAPER_SCRIPT = [
  'trap "" INT TERM HUP',
  'pids=" "',
  'while read -r l; do case $l in -*) pids=${pids/ ${l#-} / };; *) pids="$pids$l ";; esac; done',
  'set -- $pids',
  '[ $# -gt 0 ] || exit 0',
  'kill -TERM "$@" 2>/dev/null; sleep 1; kill -KILL "$@" 2>/dev/null',
].join('\n');

const REAPER_KEY = Symbol.for('moat.test.harness.reaper');
type GlobalWithReaper = typeof globalThis & { [REAPER_KEY]?: Socket | null };

function reaper(): Socket | null {
  const g = globalThis as GlobalWithReaper;
  let r = g[REAPER_KEY];
  if (r === undefined) {
    r = null;
    try {
      const child = spawn('/bin/bash', ['-c', REAPER_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      child.unref();
      if (child.stdin instanceof Socket) {
        child.stdin.unref();
        child.stdin.on('error', () => undefined);
        r = child.stdin;
      }
    } catch {
      r = null;
    }
    g[REAPER_KEY] = r;
  }
  return r;
}

/** Asks the reaper to kill `pid` if this process dies before calling forgetOnDeath(pid). */
export function killOnDeath(pid: number): void {
  if (pid > 1) reaper()?.write(`${pid}\n`);
}

/** The counterpart of killOnDeath, once `pid` has been stopped normally. */
export function forgetOnDeath(pid: number): void {
  if (pid > 1) reaper()?.write(`-${pid}\n`);
}

/** The process-wide registry every starter in this harness uses unless told otherwise. */
export function defaultRegistry(): ProcessRegistry {
  const g = globalThis as GlobalWithRegistry;
  let reg = g[REGISTRY_KEY];
  if (reg === undefined) {
    reg = new ProcessRegistry();
    g[REGISTRY_KEY] = reg;
    installExitHooks(reg);
  }
  return reg;
}

/** Stops every peer started through the default registry. Use in afterAll. */
export function stopAll(): Promise<void> {
  return defaultRegistry().stopAll();
}
