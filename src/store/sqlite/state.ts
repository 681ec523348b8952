/**
 * The embedded state store: one SQLite file (better-sqlite3) shared by the worker processes of one
 * node. WAL journal so readers never wait for the writer; synchronous=NORMAL because this is learned
 * state, not mail (a power cut may forget the last greylist entries, never a message); a busy
 * timeout so two workers writing at once wait instead of failing. Expired rows are invisible at
 * once and swept in small batches.
 */
import Database from 'better-sqlite3';
import type { Clock } from '../../platform/clock.js';
import { StoreError, type StateStore } from '../state.js';

const SWEEP_BATCH = 1000;

export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly stmt: {
    get: Database.Statement<[string, number], { value: string }>;
    set: Database.Statement<[string, string, number]>;
    insertIfAbsent: Database.Statement<[string, string, number, number]>;
    del: Database.Statement<[string]>;
    incr: Database.Statement<[string, number, number, number, number, number], { value: string }>;
    sweep: Database.Statement<[number, number]>;
  };
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    path: string,
    private readonly clock: Clock,
  ) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID');
      this.db.exec('CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires)');
    } catch (e) {
      throw new StoreError(`state store ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.stmt = {
      get: this.db.prepare('SELECT value FROM kv WHERE key = ? AND expires > ?'),
      set: this.db.prepare('INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires'),
      // Replaces an expired row, keeps a live one.
      insertIfAbsent: this.db.prepare(
        'INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires WHERE kv.expires <= ?',
      ),
      del: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      // A live counter grows; an expired one restarts at `by` with a new expiry.
      incr: this.db.prepare(
        `INSERT INTO kv (key, value, expires) VALUES (?, CAST(? AS TEXT), ?)
         ON CONFLICT(key) DO UPDATE SET
           value = CASE WHEN kv.expires > ? THEN CAST(CAST(kv.value AS REAL) + ? AS TEXT) ELSE excluded.value END,
           expires = CASE WHEN kv.expires > ? THEN kv.expires ELSE excluded.expires END
         RETURNING value`,
      ),
      sweep: this.db.prepare('DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expires <= ? LIMIT ?)'),
    };
  }

  /** Sweeps expired rows every `everyMs` (unref'd: never keeps the process alive). */
  startSweeping(everyMs: number): void {
    this.sweeper ??= setInterval(() => this.sweep(), everyMs).unref();
  }

  /** Deletes up to one batch of expired rows; returns how many. */
  sweep(): number {
    return this.run(() => this.stmt.sweep.run(this.clock.now(), SWEEP_BATCH).changes);
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new StoreError(e instanceof Error ? e.message : String(e));
    }
  }

  async get(key: string): Promise<string | null> {
    return this.run(() => this.stmt.get.get(key, this.clock.now())?.value ?? null);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.run(() => this.stmt.set.run(key, value, this.clock.now() + ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    return this.run(() => this.stmt.insertIfAbsent.run(key, value, now + ttlMs, now).changes > 0);
  }

  async delete(key: string): Promise<void> {
    this.run(() => this.stmt.del.run(key));
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const now = this.clock.now();
    return this.run(() => Number(this.stmt.incr.get(key, by, now + ttlMs, now, by, now)?.value ?? by));
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    if (this.db.open) this.db.close();
  }
}
