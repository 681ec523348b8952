// ClamAV's clamd (Debian 12: 1.4) on loopback with a tiny signature database built here, never the
// official one (freshclam is never started): EICAR as a body (.ndb) signature, so it is found
// anywhere in a message, and clam.exe of clamav-testfiles by MD5 (.hdb), which clamd finds inside
// every packed, archived or encoded variant of that package by unpacking them.
// Trusts: /usr/sbin/clamd to run in the foreground with a private config (TCPSocket on a free port,
// LocalSocket and DatabaseDirectory in a scratch dir) and to exit on SIGTERM. Readiness is clamd's
// own answer: zPING → PONG over TCP.
// Fails: a start that does not answer PONG within the bound rejects with clamd's output (a taken
// port is retried with a fresh one); stop() escalates to SIGKILL by PID (process.ts).
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

/** The EICAR test file (68 octets), the string every antivirus detects. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const CLAMAV_TESTFILES = '/usr/share/clamav-testfiles';
/** Signature names as clamd reports them (custom signatures get ".UNOFFICIAL"). */
export const EICAR_SIGNATURE = 'Test.EICAR.NDB.UNOFFICIAL';
export const TESTFILE_SIGNATURE = 'Test.ClamAV-Test-File.HDB.UNOFFICIAL';

export interface ClamdOptions {
  /** clamd's StreamMaxLength in octets (default 25 MiB, clamd's own default). */
  readonly streamMaxLength?: number;
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface ClamdHandle {
  readonly port: number;
  /** "127.0.0.1:PORT", as Moat's clamav.address. */
  readonly address: string;
  readonly socketPath: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
  /** Starts clamd again on the same port and socket after stop(). */
  restart(): Promise<void>;
}

const hex = (s: Buffer | string): string => Buffer.from(s).toString('hex');

/** The database: EICAR anywhere (.ndb) and clam.exe by MD5 and size (.hdb). */
export async function writeTestDatabase(dbDir: string): Promise<void> {
  await mkdir(dbDir, { recursive: true });
  await writeFile(join(dbDir, 'moat-test.ndb'), `Test.EICAR.NDB:0:*:${hex(EICAR)}\n`);
  const clam = await readFile(join(CLAMAV_TESTFILES, 'clam.exe'));
  await writeFile(join(dbDir, 'moat-test.hdb'), `${createHash('md5').update(clam).digest('hex')}:${clam.length}:Test.ClamAV-Test-File.HDB\n`);
}

/** Sends one z-command (e.g. "PING") and resolves with clamd's NUL-terminated answer. */
export function clamdCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`clamd ${command}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out.replace(/\0$/, ''));
    });
    s.end(`z${command}\0`);
  });
}

export async function startClamd(o: ClamdOptions = {}): Promise<ClamdHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-clamd-'));
  const dbDir = join(dir, 'db');
  const tmpDir = join(dir, 'tmp');
  await writeTestDatabase(dbDir);
  await mkdir(tmpDir, { recursive: true });
  const socketPath = join(dir, 'clamd.sock');
  let proc: ManagedProcess | undefined;

  const launch = async (port: number): Promise<ManagedProcess> => {
    const conf = join(dir, `clamd-${port}.conf`);
    await writeFile(
      conf,
      [
        'Foreground yes',
        `DatabaseDirectory ${dbDir}`,
        `TemporaryDirectory ${tmpDir}`,
        'TCPAddr 127.0.0.1',
        `TCPSocket ${port}`,
        `LocalSocket ${socketPath}`,
        'FixStaleSocket yes',
        `PidFile ${join(dir, 'clamd.pid')}`,
        `LogFile ${join(dir, 'clamd.log')}`,
        'LogTime yes',
        `StreamMaxLength ${o.streamMaxLength ?? 25 * 1024 * 1024}`,
        // The database never changes during a test: no reload checks.
        'SelfCheck 0',
        '',
      ].join('\n'),
    );
    const p = startProcess('/usr/sbin/clamd', [`--config-file=${conf}`], {
      name: `clamd:${port}`,
      ...(o.registry !== undefined ? { registry: o.registry } : {}),
    });
    try {
      await waitUntil(async () => (await clamdCommand(port, 'PING', 500)) === 'PONG', { timeoutMs: o.readyTimeoutMs ?? 20_000, what: `clamd PONG on 127.0.0.1:${port}`, process: p });
    } catch (err: unknown) {
      await p.stop();
      // waitUntil's error carries the output tail ("Address already in use" for the port retry).
      throw err;
    }
    return p;
  };

  return startWithPortRetry(
    async (port) => {
      proc = await launch(port);
      const handle: ClamdHandle = {
        port,
        address: `127.0.0.1:${port}`,
        socketPath,
        get process() {
          return proc as ManagedProcess;
        },
        stop: async () => {
          await proc?.stop();
        },
        restart: async () => {
          await proc?.stop();
          proc = await launch(port);
        },
      };
      return handle;
    },
    { port: o.port },
  );
}
