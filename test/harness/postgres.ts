// A private PostgreSQL 15 cluster on a loopback port for Moat's cluster message store: initdb into
// a scratch dir (trust authentication, no fsync: test data), the postmaster in the foreground with
// its unix socket in the scratch dir too (the system's /var/run/postgresql and its clusters are
// never touched or started), and one database per test made with createDatabase().
// Trusts: Debian's postgresql-15 binaries under /usr/lib/postgresql/15/bin. initdb and postgres
// refuse to run as root, so as root both run as the `postgres` user (setpriv, which execs: the PID we
// track is the postmaster's). Readiness is pg_isready answering "accepting connections".
// Fails: start rejects with the server's output; a taken port is retried with a fresh one; stop()
// sends SIGINT (PostgreSQL's "fast" shutdown: it does not wait for clients) and SIGKILLs after a bound.
import { join } from 'node:path';
import { runChecked, startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeDirOwnedBy, makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  readonly port?: number;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface PostgresHandle {
  readonly port: number;
  /** "postgres://postgres@127.0.0.1:PORT/postgres". */
  readonly url: string;
  readonly process: ManagedProcess;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one SQL statement with psql; its unaligned, tuples-only output. */
  sql(db: string, statement: string): Promise<string>;
  stop(): Promise<void>;
}

const asPostgres = (command: string, args: readonly string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['/usr/bin/setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, [...args]];

export async function startPostgres(o: PostgresOptions = {}): Promise<PostgresHandle> {
  const root = await makeScratchDir('moat-pg-');
  const dir = join(root, 'pg');
  await makeDirOwnedBy(dir, 'postgres');
  const data = join(dir, 'data');
  const [initdb, initArgs] = asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  await runChecked(initdb, initArgs, { timeoutMs: 60_000 });
  return startWithPortRetry(
    async (port) => {
      const [cmd, args] = asPostgres(`${BIN}/postgres`, [
        '-D', data, '-p', String(port), '-k', dir,
        '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=100', '-c', 'log_min_messages=warning',
      ]);
      const proc = startProcess(cmd, args, { name: `postgres:${port}`, cwd: dir, ...(o.registry !== undefined ? { registry: o.registry } : {}) });
      try {
        await waitUntil(
          async () => {
            const r = await runChecked(`${BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(port)], { timeoutMs: 5000 }).catch(() => null);
            if (proc.tail().match(/could not bind|Address already in use/)) throw new Error(`EADDRINUSE: ${proc.tail()}`);
            return r !== null;
          },
          { timeoutMs: o.readyTimeoutMs ?? 30_000, what: `postgres accepting connections on 127.0.0.1:${port}`, process: proc, intervalMs: 50 },
        );
      } catch (err: unknown) {
        await proc.stop({ signal: 'SIGINT' });
        throw err;
      }
      const base = `postgres://postgres@127.0.0.1:${port}`;
      const sql = async (db: string, statement: string): Promise<string> =>
        (await runChecked('/usr/bin/psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', `${base}/${db}`, '-c', statement], { timeoutMs: 30_000 })).stdout;
      return {
        port,
        url: `${base}/postgres`,
        process: proc,
        sql,
        async createDatabase(name: string) {
          if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
          await sql('postgres', `CREATE DATABASE ${name}`);
          return `${base}/${name}`;
        },
        stop: () => proc.stop({ signal: 'SIGINT' }).then(() => undefined),
      };
    },
    { port: o.port },
  );
}
