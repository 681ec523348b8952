/**
 * Run-time sender entries in PostgreSQL (`store: postgres://…`): one table shared by every node,
 * so an entry added on one node's console applies on all (each worker re-reads the table every
 * `checks.senderLists.refresh`, and at once on the node where it was added). The schema is the
 * component "sender-entries" of the cluster store's migrations (src/store/postgres/migrate.ts).
 * Fails: every query error is a SenderStoreError naming the server without its password.
 */
import type pg from 'pg';
import { createPool, describeUrl } from '../store/postgres/pool.js';
import { migrate } from '../store/postgres/migrate.js';
import { MAX_SENDER_ENTRIES, SenderStoreError, type NewSenderEntry, type SenderEntry, type SenderEntryStore, type SenderListName } from './entries.js';

const MIGRATIONS = {
  component: 'sender-entries',
  steps: [
    `CREATE TABLE sender_entries (
       id BIGSERIAL PRIMARY KEY,
       list TEXT NOT NULL CHECK (list IN ('allow', 'block')),
       value TEXT NOT NULL UNIQUE,
       added_by TEXT NOT NULL,
       added_at BIGINT NOT NULL,
       note TEXT NOT NULL DEFAULT ''
     )`,
  ],
} as const;

interface Row {
  id: string;
  list: SenderListName;
  value: string;
  added_by: string;
  added_at: string;
  note: string;
}

const entry = (r: Row): SenderEntry => ({ id: Number(r.id), list: r.list, value: r.value, addedBy: r.added_by, addedAt: Number(r.added_at), note: r.note });

export class PostgresSenderEntryStore implements SenderEntryStore {
  private readonly pool: pg.Pool;
  private ready: Promise<void> | null = null;
  private readonly where: string;

  constructor(o: { readonly url: string; readonly poolSize: number; readonly statementTimeoutMs: number }) {
    this.pool = createPool(o.url, Math.min(2, o.poolSize), o.statementTimeoutMs);
    this.where = describeUrl(o.url);
  }

  private async q(sql: string, params: readonly unknown[]): Promise<Row[]> {
    try {
      // The schema once per store; a failed migration is retried with the next query.
      await (this.ready ??= migrate(this.pool, MIGRATIONS).then(() => undefined).catch((e: unknown) => {
        this.ready = null;
        throw e;
      }));
      return (await this.pool.query<Row>(sql, [...params])).rows;
    } catch (e) {
      throw new SenderStoreError(`sender entries (${this.where}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async list(): Promise<SenderEntry[]> {
    return (await this.q('SELECT * FROM sender_entries ORDER BY added_at DESC, id DESC LIMIT $1', [MAX_SENDER_ENTRIES])).map(entry);
  }

  async put(e: NewSenderEntry): Promise<SenderEntry> {
    const rows = await this.q(
      `INSERT INTO sender_entries (list, value, added_by, added_at, note) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (value) DO UPDATE SET list = excluded.list, added_by = excluded.added_by, added_at = excluded.added_at, note = excluded.note
       RETURNING *`,
      [e.list, e.value, e.addedBy, e.addedAt, e.note],
    );
    const r = rows[0];
    if (!r) throw new SenderStoreError('no row written');
    return entry(r);
  }

  async remove(id: number): Promise<SenderEntry | null> {
    const r = (await this.q('DELETE FROM sender_entries WHERE id = $1 RETURNING *', [id]))[0];
    return r ? entry(r) : null;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
