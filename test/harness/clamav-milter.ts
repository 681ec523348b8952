// clamav-milter (Debian 12: 1.4) on a loopback TCP milter socket, in front of a clamd: it streams
// each message an MTA hands it (smtpd_milters = inet:127.0.0.1:PORT) to that clamd and refuses the
// infected ones (OnInfected Reject), defers when clamd fails (OnFail Defer) and adds an
// X-Virus-Scanned header. A private config file in a scratch dir; the host's /etc/clamav is never read.
// Trusts: /usr/sbin/clamav-milter in the foreground (Foreground yes) to exit on SIGTERM. Readiness
// is its milter port accepting connections.
// Fails: a port that does not open within the bound rejects with the output tail (a taken port is
// retried with a fresh one); stop() escalates to SIGKILL by PID (process.ts).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import type { MilterHandle } from './spamass-milter.js';
import { makeScratchDir } from './tmp.js';
import { tcpOpen, waitUntil } from './wait.js';

export interface ClamavMilterOptions {
  /** clamd's TCP port on 127.0.0.1. */
  readonly clamdPort: number;
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export async function startClamavMilter(o: ClamavMilterOptions): Promise<MilterHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-clamav-milter-'));
  return startWithPortRetry(
    async (port) => {
      const conf = join(dir, `clamav-milter-${port}.conf`);
      await writeFile(
        conf,
        [
          `MilterSocket inet:${port}@127.0.0.1`,
          `ClamdSocket tcp:127.0.0.1:${o.clamdPort}`,
          'Foreground yes',
          `PidFile ${join(dir, `clamav-milter-${port}.pid`)}`,
          `TemporaryDirectory ${dir}`,
          `LogFile ${join(dir, 'clamav-milter.log')}`,
          'LogInfected Basic',
          'OnInfected Reject',
          'OnFail Defer',
          'AddHeader Replace',
          'MaxFileSize 25M',
          '',
        ].join('\n'),
      );
      const proc = startProcess('/usr/sbin/clamav-milter', ['-c', conf], { name: `clamav-milter:${port}`, cwd: dir, ...(o.registry !== undefined ? { registry: o.registry } : {}) });
      try {
        await waitUntil(() => tcpOpen(port), { timeoutMs: o.readyTimeoutMs ?? 15_000, what: `clamav-milter on 127.0.0.1:${port}`, process: proc, intervalMs: 50 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return { port, milter: `inet:127.0.0.1:${port}`, process: proc, stop: async () => { await proc.stop(); } };
    },
    { port: o.port },
  );
}
