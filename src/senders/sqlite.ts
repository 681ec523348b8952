/**
 * Run-time sender entries in SQLite: one table in store.db beside the console's users (WAL,
 * synchronous=FULL: an entry an admin added must survive a power cut). Written by the console
 * (supervisor) and `moat senders`, read by every worker; better-sqlite3 is synchronous, so each
 * call is a short transaction on this process's own connection. Every failure is a SenderStoreError.
 */
import type Database from 'better-sqlite3';
import { openDurableSqlite } from '../store/sqlite/durable.js';
import { MAX_SENDER_ENTRIES, SenderStoreError, type NewSenderEntry, type SenderEntry, type SenderEntryStore, type SenderListName } from './entries.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sender_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  list TEXT NOT NULL CHECK (list IN ('allow', 'block')),
  value TEXT NOT NULL UNIQUE,
  added_by TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
`;

interface Row {
  id: number;
  list: SenderListName;
  value: string;
  added_by: string;
  added_at: number;
  note: string;
}

const entry = (r: Row): SenderEntry => ({ id: r.id, list: r.list, value: r.value, addedBy: r.added_by, addedAt: r.added_at, note: r.note });

export class SqliteSenderEntryStore implements SenderEntryStore {
  private readonly db: Database.Database;
  private readonly s;

  constructor(readonly path: string) {
    try {
      this.db = openDurableSqlite(path, SCHEMA);
      this.s = {
        list: this.db.prepare<[number], Row>('SELECT * FROM sender_entries ORDER BY added_at DESC, id DESC LIMIT ?'),
        put: this.db.prepare<[string, string, string, number, string], Row>(
          `INSERT INTO sender_entries (list, value, added_by, added_at, note) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (value) DO UPDATE SET list = excluded.list, added_by = excluded.added_by, added_at = excluded.added_at, note = excluded.note
           RETURNING *`,
        ),
        remove: this.db.prepare<[number], Row>('DELETE FROM sender_entries WHERE id = ? RETURNING *'),
      };
    } catch (e) {
      throw new SenderStoreError(`sender entries ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(new SenderStoreError(e instanceof Error ? e.message : String(e)));
    }
  }

  list(): Promise<SenderEntry[]> {
    return this.run(() => this.s.list.all(MAX_SENDER_ENTRIES).map(entry));
  }

  put(e: NewSenderEntry): Promise<SenderEntry> {
    return this.run(() => {
      const r = this.s.put.get(e.list, e.value, e.addedBy, e.addedAt, e.note);
      if (!r) throw new Error('no row written');
      return entry(r);
    });
  }

  remove(id: number): Promise<SenderEntry | null> {
    return this.run(() => {
      const r = this.s.remove.get(id);
      return r ? entry(r) : null;
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
