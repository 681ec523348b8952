// smtp-sink as the benchmark's downstream, counting messages instead of capturing them.
// Why not the harness's startSmtpSink: its counters (-c) are \r-separated updates
// ("sess=1 quit=1 mesg=2\r") and the harness's process wrapper only splits output on \n, so the
// counts would never arrive; capture files (-d) would add a disk write per message to the run.
// Trusts: smtp-sink (Postfix 3.7) with -c flushes one "... mesg=N" update to stdout each time a
// "." is answered (checked by hand); the count is cumulative for the life of the process.
// Fails: start rejects when no 220 comes within 5 s; whenCount rejects after its timeout or when
// the sink exits. The sink is registered with the harness's process registry and reaper, so it is
// killed (by its PID) even if the benchmark dies.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { defaultRegistry, forgetOnDeath, killOnDeath, startWithPortRetry, waitForSmtpBanner } from '../../test/harness/index.js';
import type { Stoppable } from '../../test/harness/index.js';

export interface CountingSink {
  readonly port: number;
  readonly pid: number;
  /** Messages received so far (cumulative). */
  count(): number;
  /**
   * Resolves with performance.now() at the update that made the count reach `target` (or now, if
   * it already had). Register before starting the load so the time is exact.
   */
  whenCount(target: number, timeoutMs: number): Promise<number>;
  /** performance.now() of the update that last raised the count (0 before the first message). */
  lastCountAt(): number;
  stop(): Promise<void>;
}

interface Waiter {
  readonly target: number;
  readonly resolve: (at: number) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface CountingSinkOptions {
  /** Listen on this port (a restarted sink takes its old one back); default a free one. */
  readonly port?: number;
  /**
   * Also append every transaction to this file (smtp-sink -D; no "%" in the name, so one file),
   * for checking which messages arrived. Its directory must be writable by nobody when root.
   */
  readonly dumpFile?: string;
}

function spawnSink(port: number, o: CountingSinkOptions): ChildProcess {
  const args: string[] = [];
  if (process.getuid?.() === 0) args.push('-u', 'nobody');
  if (o.dumpFile !== undefined) {
    if (o.dumpFile.includes('%')) throw new Error(`counting sink: dump file name must not contain "%": ${o.dumpFile}`);
    args.push('-D', o.dumpFile);
  }
  // -c counters; -m 1024 so 100 sessions from each of two relays never queue at the sink
  args.push('-c', '-h', 'lan.test', '-m', '1024', `127.0.0.1:${port}`, '1024');
  return spawn('/usr/sbin/smtp-sink', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts smtp-sink -c on a loopback port (see CountingSinkOptions); resolves when it greets. */
export function startCountingSink(o: CountingSinkOptions = {}): Promise<CountingSink> {
  return startWithPortRetry(async (port) => {
    const child = spawnSink(port, o);
    const pid = child.pid ?? -1;
    killOnDeath(pid);
    let count = 0;
    let lastCountAt = 0;
    let exited = false;
    let stderr = '';
    const waiters = new Set<Waiter>();
    const settle = (now: number): void => {
      for (const w of waiters) {
        if (count >= w.target) {
          waiters.delete(w);
          clearTimeout(w.timer);
          w.resolve(now);
        }
      }
    };
    let partial = '';
    child.stdout?.setEncoding('latin1');
    child.stdout?.on('data', (chunk: string) => {
      const now = performance.now();
      const parts = (partial + chunk).split(/[\r\n]/);
      partial = parts.pop() ?? '';
      for (const p of parts) {
        const m = /mesg=(\d+)/.exec(p);
        if (m !== null && Number(m[1]) > count) {
          count = Number(m[1]);
          lastCountAt = now;
        }
      }
      settle(now);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-4000);
    });
    const exit = new Promise<void>((resolve) => {
      const done = (): void => {
        if (exited) return;
        exited = true;
        forgetOnDeath(pid);
        registry.delete(guard);
        for (const w of waiters) {
          clearTimeout(w.timer);
          w.reject(new Error(`smtp-sink on port ${port} exited at count ${count}: ${stderr}`));
        }
        waiters.clear();
        resolve();
      };
      // 'close', not 'exit': after it every counter update the sink printed has been read, so a
      // stopped sink's count() is final
      child.once('close', done);
      child.once('error', done);
    });
    const kill = (sig: NodeJS.Signals): void => {
      if (!exited && pid > 1) {
        try {
          process.kill(pid, sig);
        } catch {
          // gone
        }
      }
    };
    const stop = async (): Promise<void> => {
      kill('SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
      if ((await Promise.race([exit, timeout])) === 'timeout') {
        kill('SIGKILL');
        await exit;
      }
    };
    const guard: Stoppable = { name: `smtp-sink:${port}`, stop, killNow: () => kill('SIGKILL') };
    const registry = defaultRegistry();
    registry.add(guard);
    try {
      await waitForSmtpBanner(port, { timeoutMs: 5000 });
    } catch (err: unknown) {
      await stop();
      throw new Error(`smtp-sink did not greet on ${port}: ${String(err)} ${stderr}`, { cause: err });
    }
    return {
      port,
      pid,
      count: () => count,
      lastCountAt: () => lastCountAt,
      whenCount: (target, timeoutMs) =>
        new Promise<number>((resolve, reject) => {
          if (exited) {
            reject(new Error(`smtp-sink on port ${port} is not running`));
            return;
          }
          const timer = setTimeout(() => {
            waiters.delete(w);
            reject(new Error(`smtp-sink on port ${port}: count ${count} did not reach ${target} within ${timeoutMs} ms`));
          }, timeoutMs);
          const w: Waiter = { target, resolve, reject, timer };
          waiters.add(w);
          settle(performance.now());
        }),
      stop,
    };
  }, { port: o.port });
}
