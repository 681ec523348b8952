/**
 * Schema migrations of the PostgreSQL cluster store, run by every node at start. Several nodes may
 * start at once: each migration run holds one transaction-scoped advisory lock
 * (pg_advisory_xact_lock), so one node applies the missing steps while the others wait, then find
 * nothing left to do. Each component (message log, quarantine; later the console's users) keeps its
 * own version in `moat_schema`, so components migrate independently and a branch adding one needs
 * no change here. A database newer than this Moat (a version above the last known step) is refused
 * rather than written to with an old idea of its tables.
 * Trusts: the steps' SQL (ours). Fails: with the database's error; the transaction rolls back, so a
 * step is applied completely or not at all.
 */
import type { Pool } from 'pg';

/** One component's steps: step i (0-based) brings the schema to version i + 1. */
export interface Migrations {
  readonly component: string;
  readonly steps: readonly string[];
}

/** 64-bit advisory lock key shared by every Moat node: "moat" in ASCII. */
const LOCK_KEY = 0x6d6f6174;

export async function migrate(pool: Pool, m: Migrations): Promise<{ from: number; to: number }> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await c.query('CREATE TABLE IF NOT EXISTS moat_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated TIMESTAMPTZ NOT NULL DEFAULT now())');
    const r = await c.query<{ version: number }>('SELECT version FROM moat_schema WHERE component = $1', [m.component]);
    const from = r.rows[0]?.version ?? 0;
    if (from > m.steps.length) throw new Error(`${m.component} schema version ${from} is newer than this Moat (${m.steps.length})`);
    for (let v = from; v < m.steps.length; v++) await c.query(m.steps[v] as string);
    if (from < m.steps.length) {
      await c.query(
        'INSERT INTO moat_schema (component, version) VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated = now()',
        [m.component, m.steps.length],
      );
    }
    await c.query('COMMIT');
    return { from, to: m.steps.length };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}
