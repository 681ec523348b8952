/**
 * The admin console's store port (DESIGN.md §6: "admin users" beside the message log): console
 * users with their scrypt password hashes and roles, and the console's server-side sessions.
 * Embedded: SQLite (store.db, src/store/sqlite/admin.ts); several nodes: PostgreSQL — so the
 * interface is async. A session is stored under the SHA-256 of its id: a copy of the database
 * does not hand out live cookies. Trusts its callers (the console's auth, `moat admin`) to have
 * validated names and roles; a failing store rejects with AdminStoreError.
 */

export const ADMIN_ROLES = ['admin', 'readonly', 'helpdesk'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminUser {
  /** 1-64 characters of [A-Za-z0-9._@-]. */
  readonly name: string;
  readonly role: AdminRole;
  /** "scrypt$N$r$p$salt$hash" (src/admin/password.ts). */
  readonly passwordHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AdminSession {
  /** SHA-256 (hex) of the session id the cookie holds. */
  readonly idHash: string;
  readonly user: string;
  /** The session's CSRF token (sent in X-CSRF-Token with every state change). */
  readonly csrf: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export interface AdminStore {
  countUsers(): Promise<number>;
  getUser(name: string): Promise<AdminUser | null>;
  listUsers(): Promise<AdminUser[]>;
  /** Adds the user, or replaces one of that name. */
  putUser(user: AdminUser): Promise<void>;
  /** Deletes the user and every session of it; false when there was none. */
  deleteUser(name: string): Promise<boolean>;
  createSession(s: AdminSession): Promise<void>;
  getSession(idHash: string): Promise<AdminSession | null>;
  touchSession(idHash: string, at: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** Deletes every session of a user (password or role changed). */
  deleteSessionsOf(user: string): Promise<void>;
  /** Deletes sessions created before `createdBefore` or idle since before `idleBefore`; how many. */
  pruneSessions(createdBefore: number, idleBefore: number): Promise<number>;
  close(): Promise<void>;
}

export class AdminStoreError extends Error {
  readonly code = 'ADMIN_STORE_ERROR';
  readonly transient = true;
}

export const USER_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function isAdminRole(s: string): s is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(s);
}
