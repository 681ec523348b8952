/**
 * The console's users and sessions in SQLite: two tables in store.db beside the message log
 * (WAL, as the log; synchronous=FULL here: a user added or a session revoked must survive a
 * power cut). Opened by the supervisor (sessions) and by `moat admin` (users), also while the
 * gateway runs. Plain SQL (no upserts besides the standard ON CONFLICT), so PostgreSQL can follow.
 * Every failure is an AdminStoreError.
 */
import type Database from 'better-sqlite3';
import { openDurableSqlite } from './durable.js';
import { AdminStoreError, type AdminSession, type AdminStore, type AdminUser } from '../admin.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS admin_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_sessions (
  id_hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_sessions_user ON admin_sessions (user_name);
`;

interface UserRow {
  name: string;
  role: AdminUser['role'];
  password_hash: string;
  created_at: number;
  updated_at: number;
}

interface SessionRow {
  id_hash: string;
  user_name: string;
  csrf: string;
  created_at: number;
  last_seen_at: number;
}

const user = (r: UserRow): AdminUser => ({ name: r.name, role: r.role, passwordHash: r.password_hash, createdAt: r.created_at, updatedAt: r.updated_at });
const session = (r: SessionRow): AdminSession => ({ idHash: r.id_hash, user: r.user_name, csrf: r.csrf, createdAt: r.created_at, lastSeenAt: r.last_seen_at });

export class SqliteAdminStore implements AdminStore {
  private readonly db: Database.Database;
  private readonly s;

  constructor(readonly path: string) {
    try {
      this.db = openDurableSqlite(path, SCHEMA);
      this.s = {
        count: this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admin_users'),
        get: this.db.prepare<[string], UserRow>('SELECT * FROM admin_users WHERE name = ?'),
        list: this.db.prepare<[], UserRow>('SELECT * FROM admin_users ORDER BY name'),
        put: this.db.prepare<[string, string, string, number, number]>(
          `INSERT INTO admin_users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
        ),
        delUser: this.db.prepare<[string]>('DELETE FROM admin_users WHERE name = ?'),
        addSession: this.db.prepare<[string, string, string, number, number]>('INSERT INTO admin_sessions (id_hash, user_name, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)'),
        getSession: this.db.prepare<[string], SessionRow>('SELECT * FROM admin_sessions WHERE id_hash = ?'),
        touch: this.db.prepare<[number, string]>('UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?'),
        delSession: this.db.prepare<[string]>('DELETE FROM admin_sessions WHERE id_hash = ?'),
        delSessionsOf: this.db.prepare<[string]>('DELETE FROM admin_sessions WHERE user_name = ?'),
        prune: this.db.prepare<[number, number]>('DELETE FROM admin_sessions WHERE created_at < ? OR last_seen_at < ?'),
      };
    } catch (e) {
      throw new AdminStoreError(`admin store ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(new AdminStoreError(e instanceof Error ? e.message : String(e)));
    }
  }

  countUsers(): Promise<number> {
    return this.run(() => this.s.count.get()?.n ?? 0);
  }

  getUser(name: string): Promise<AdminUser | null> {
    return this.run(() => {
      const r = this.s.get.get(name);
      return r ? user(r) : null;
    });
  }

  listUsers(): Promise<AdminUser[]> {
    return this.run(() => this.s.list.all().map(user));
  }

  putUser(u: AdminUser): Promise<void> {
    return this.run(() => void this.s.put.run(u.name, u.role, u.passwordHash, u.createdAt, u.updatedAt));
  }

  deleteUser(name: string): Promise<boolean> {
    return this.run(() =>
      this.db.transaction(() => {
        this.s.delSessionsOf.run(name);
        return this.s.delUser.run(name).changes > 0;
      })(),
    );
  }

  createSession(x: AdminSession): Promise<void> {
    return this.run(() => void this.s.addSession.run(x.idHash, x.user, x.csrf, x.createdAt, x.lastSeenAt));
  }

  getSession(idHash: string): Promise<AdminSession | null> {
    return this.run(() => {
      const r = this.s.getSession.get(idHash);
      return r ? session(r) : null;
    });
  }

  touchSession(idHash: string, at: number): Promise<void> {
    return this.run(() => void this.s.touch.run(at, idHash));
  }

  deleteSession(idHash: string): Promise<void> {
    return this.run(() => void this.s.delSession.run(idHash));
  }

  deleteSessionsOf(name: string): Promise<void> {
    return this.run(() => void this.s.delSessionsOf.run(name));
  }

  pruneSessions(createdBefore: number, idleBefore: number): Promise<number> {
    return this.run(() => this.s.prune.run(createdBefore, idleBefore).changes);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
