/**
 * The pg 8 pool every PostgreSQL adapter uses (message log, quarantine; later the console's users):
 * bounded size, a statement timeout, a connect timeout, and idle clients that lose their server
 * never crash the process (the pool's 'error' event is swallowed: the next query fails and is
 * reported by its caller). describeUrl() names a server in errors without its password.
 */
import pg from 'pg';

/** A pg pool whose errors (idle clients losing their server) never crash the process. */
export function createPool(url: string, size: number, statementTimeoutMs: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: size, statement_timeout: statementTimeoutMs, connectionTimeoutMillis: Math.min(statementTimeoutMs, 5000), idleTimeoutMillis: 30_000 });
  pool.on('error', () => undefined);
  return pool;
}

/** "postgres HOST:PORT/DB", for errors: never the password. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `postgres ${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

