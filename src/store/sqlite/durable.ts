/**
 * Opens a SQLite file for a store whose every write must survive a power cut (console users and
 * sessions, run-time sender entries, both in store.db beside the message log): WAL as the log,
 * synchronous=FULL, a 5 s busy timeout for the other processes on the same file, and the store's
 * schema (idempotent CREATE … IF NOT EXISTS). Throws better-sqlite3's error; callers wrap it.
 */
import Database from 'better-sqlite3';

export function openDurableSqlite(path: string, schema: string): Database.Database {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(schema);
  return db;
}
