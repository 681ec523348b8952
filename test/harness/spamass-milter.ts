// spamass-milter (Debian 12: 0.4.0) on a loopback TCP milter socket, in front of a spamd: for each
// message an MTA hands it (smtpd_milters = inet:127.0.0.1:PORT), it runs spamc against that spamd,
// adds SpamAssassin's X-Spam-* headers and, with `rejectScore`, refuses mail scoring at or above it.
// Trusts: /usr/sbin/spamass-milter to stay in the foreground (no -f) and to exit on SIGTERM; its
// spamc child gets `-d 127.0.0.1 -p SPAMD_PORT`, so it never asks the host's spamd. Readiness is
// its milter port accepting connections (it has no ping command).
// Fails: a port that does not open within the bound rejects with the output tail (a taken port is
// retried with a fresh one); stop() escalates to SIGKILL by PID (process.ts).
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { tcpOpen, waitUntil } from './wait.js';

export interface SpamassMilterOptions {
  /** spamd's TCP port on 127.0.0.1. */
  readonly spamdPort: number;
  /** -r: reject (5xx) at or above this score; default none (tag only). */
  readonly rejectScore?: number;
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface MilterHandle {
  readonly port: number;
  /** "inet:127.0.0.1:PORT", as Postfix's smtpd_milters. */
  readonly milter: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startSpamassMilter(o: SpamassMilterOptions): Promise<MilterHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-spamass-milter-'));
  return startWithPortRetry(
    async (port) => {
      const args = ['-p', `inet:${port}@127.0.0.1`, '-P', join(dir, `spamass-milter-${port}.pid`)];
      if (o.rejectScore !== undefined) args.push('-r', String(o.rejectScore));
      args.push('--', '-d', '127.0.0.1', '-p', String(o.spamdPort));
      const proc = startProcess('/usr/sbin/spamass-milter', args, { name: `spamass-milter:${port}`, cwd: dir, ...(o.registry !== undefined ? { registry: o.registry } : {}) });
      try {
        await waitUntil(() => tcpOpen(port), { timeoutMs: o.readyTimeoutMs ?? 15_000, what: `spamass-milter on 127.0.0.1:${port}`, process: proc, intervalMs: 50 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return { port, milter: `inet:127.0.0.1:${port}`, process: proc, stop: async () => { await proc.stop(); } };
    },
    { port: o.port },
  );
}
