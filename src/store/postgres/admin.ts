/**
 * The console's users and sessions in PostgreSQL (`store: postgres://…`): the SQLite adapter's two
 * tables (src/store/sqlite/admin.ts) shared by every node, so a user added on one node (`moat admin
 * add-user`) logs in on any other, and a session made on node A is valid on node B (a load balancer
 * in front of the consoles needs no stickiness). The schema is the 'admin' component of the
 * migrations (migrate.ts: one advisory lock, so nodes starting together are safe).
 * Trusts its callers to have validated names and roles (as the SQLite adapter); every value is a
 * bound parameter. Fails with AdminStoreError (the console refuses the login or the request with
 * 503); the URL's password never appears in an error.
 */
import type pg from 'pg';
import { AdminStoreError, type AdminRole, type AdminSession, type AdminStore, type AdminUser } from '../admin.js';
import { migrate, type Migrations } from './migrate.js';
import { createPool, describeUrl } from './pool.js';

export const ADMIN_MIGRATIONS: Migrations = {
  component: 'admin',
  steps: [
    `CREATE TABLE admin_users (
       name TEXT PRIMARY KEY,
       role TEXT NOT NULL,
       password_hash TEXT NOT NULL,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL
     );
     CREATE TABLE admin_sessions (
       id_hash TEXT PRIMARY KEY,
       user_name TEXT NOT NULL,
       csrf TEXT NOT NULL,
       created_at BIGINT NOT NULL,
       last_seen_at BIGINT NOT NULL
     );
     CREATE INDEX admin_sessions_user ON admin_sessions (user_name);`,
  ],
};

export interface PostgresAdminStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

interface UserRow {
  name: string;
  role: AdminRole;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

interface SessionRow {
  id_hash: string;
  user_name: string;
  csrf: string;
  created_at: string;
  last_seen_at: string;
}

const user = (r: UserRow): AdminUser => ({ name: r.name, role: r.role, passwordHash: r.password_hash, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });
const session = (r: SessionRow): AdminSession => ({ idHash: r.id_hash, user: r.user_name, csrf: r.csrf, createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at) });

export class PostgresAdminStore implements AdminStore {
  private readonly pool: pg.Pool;
  private readonly where: string;
  private migrated: Promise<void> | null = null;

  constructor(o: PostgresAdminStoreOptions) {
    this.pool = createPool(o.url, o.poolSize, o.statementTimeoutMs);
    this.where = describeUrl(o.url);
  }

  private error(e: unknown): AdminStoreError {
    return e instanceof AdminStoreError ? e : new AdminStoreError(`admin store in ${this.where}: ${e instanceof Error ? e.message : String(e)}`);
  }

  /** Migrates the schema once; a failed run is tried again by the next call. */
  init(): Promise<void> {
    this.migrated ??= migrate(this.pool, ADMIN_MIGRATIONS).then(
      () => undefined,
      (e: unknown) => {
        this.migrated = null;
        throw this.error(e);
      },
    );
    return this.migrated;
  }

  private async q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.init();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw this.error(e);
    }
  }

  async countUsers(): Promise<number> {
    return Number((await this.q<{ n: string }>('SELECT COUNT(*) AS n FROM admin_users')).rows[0]?.n ?? 0);
  }

  async getUser(name: string): Promise<AdminUser | null> {
    const r = (await this.q<UserRow>('SELECT * FROM admin_users WHERE name = $1', [name])).rows[0];
    return r ? user(r) : null;
  }

  async listUsers(): Promise<AdminUser[]> {
    return (await this.q<UserRow>('SELECT * FROM admin_users ORDER BY name')).rows.map(user);
  }

  async putUser(u: AdminUser): Promise<void> {
    await this.q(
      `INSERT INTO admin_users (name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
      [u.name, u.role, u.passwordHash, u.createdAt, u.updatedAt],
    );
  }

  /** Adds the user unless one of that name exists; whether it was added (`moat store migrate`). */
  async addUserIfAbsent(u: AdminUser): Promise<boolean> {
    const r = await this.q('INSERT INTO admin_users (name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING', [
      u.name,
      u.role,
      u.passwordHash,
      u.createdAt,
      u.updatedAt,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteUser(name: string): Promise<boolean> {
    // One statement: the sessions and the user go together or not at all.
    const r = await this.q<{ n: string }>(
      'WITH s AS (DELETE FROM admin_sessions WHERE user_name = $1), u AS (DELETE FROM admin_users WHERE name = $1 RETURNING 1) SELECT COUNT(*) AS n FROM u',
      [name],
    );
    return Number(r.rows[0]?.n ?? 0) > 0;
  }

  async createSession(x: AdminSession): Promise<void> {
    await this.q('INSERT INTO admin_sessions (id_hash, user_name, csrf, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)', [x.idHash, x.user, x.csrf, x.createdAt, x.lastSeenAt]);
  }

  async getSession(idHash: string): Promise<AdminSession | null> {
    const r = (await this.q<SessionRow>('SELECT * FROM admin_sessions WHERE id_hash = $1', [idHash])).rows[0];
    return r ? session(r) : null;
  }

  async touchSession(idHash: string, at: number): Promise<void> {
    await this.q('UPDATE admin_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1', [at, idHash]);
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.q('DELETE FROM admin_sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteSessionsOf(name: string): Promise<void> {
    await this.q('DELETE FROM admin_sessions WHERE user_name = $1', [name]);
  }

  async pruneSessions(createdBefore: number, idleBefore: number): Promise<number> {
    return (await this.q('DELETE FROM admin_sessions WHERE created_at < $1 OR last_seen_at < $2', [createdBefore, idleBefore])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
