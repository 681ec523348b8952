/**
 * Console authentication: logins against the users in the admin store (scrypt, password.ts),
 * server-side sessions behind a random 32-octet cookie (HttpOnly, SameSite=Strict, Secure over
 * HTTPS; only its SHA-256 is stored), idle and absolute expiry, a CSRF token per session that
 * every state change must send in X-CSRF-Token, and login rate limits per client IP and per user
 * name counted in the state store (shared with the workers' limits, so a restart does not reset
 * them). No default user and no default password: with no user in the store every login is
 * refused with how to create one (`moat admin add-user`).
 * Roles: admin (everything), readonly (sees everything, changes nothing), helpdesk (the
 * quarantine only: sees and acts on it). Changing the run-time sender lists (`senders`) is the
 * admin's alone: an allowed sender skips filtering for every recipient.
 * Fails closed: a store that cannot be read refuses the login or the request (503).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminRole, AdminStore, AdminUser } from '../store/admin.js';
import type { StateStore } from '../store/state.js';
import { cookies, HttpError } from './http.js';
import { verifyPassword } from './password.js';

export const PERMISSIONS = ['view', 'quarantine.view', 'quarantine.act', 'queue.act', 'senders', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Readonly<Record<AdminRole, readonly Permission[]>> = {
  admin: PERMISSIONS,
  readonly: ['view', 'quarantine.view'],
  helpdesk: ['quarantine.view', 'quarantine.act'],
};

export interface AuthSettings {
  readonly idleMs: number;
  readonly lifetimeMs: number;
  readonly perIp: number;
  readonly perUser: number;
  readonly windowMs: number;
  /** Cookies get the Secure flag (and the __Host- prefix). */
  readonly secure: boolean;
}

export interface Session {
  readonly idHash: string;
  readonly user: string;
  readonly role: AdminRole;
  readonly csrf: string;
  readonly permissions: readonly Permission[];
}

export type LoginResult =
  | { readonly ok: true; readonly session: Session; readonly cookie: string }
  | { readonly ok: false; readonly status: 401 | 429 | 503; readonly error: string; readonly retryAfterS?: number };

const TOUCH_EVERY = 60_000;
export const SETUP_HINT = 'No console user exists yet. Create one on the gateway host: moat admin add-user NAME --role admin --config FILE';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class ConsoleAuth {
  private readonly ended: ((idHash: string) => void)[] = [];

  constructor(
    private readonly store: AdminStore,
    private readonly state: StateStore,
    private readonly settings: () => AuthSettings,
    private readonly now: () => number,
  ) {}

  get cookieName(): string {
    return this.settings().secure ? '__Host-moat_session' : 'moat_session';
  }

  async setupNeeded(): Promise<boolean> {
    return (await this.store.countUsers()) === 0;
  }

  async login(name: string, password: string, ip: string): Promise<LoginResult> {
    const s = this.settings();
    if (await this.setupNeeded()) return { ok: false, status: 503, error: SETUP_HINT };
    const ipKey = `admin-login:ip:${ip}`;
    const userKey = `admin-login:user:${name.toLowerCase().slice(0, 64)}`;
    const [ipFails, userFails] = await Promise.all([this.state.get(ipKey), this.state.get(userKey)]);
    if (Number(ipFails ?? 0) >= s.perIp || Number(userFails ?? 0) >= s.perUser) {
      return { ok: false, status: 429, error: 'too many failed logins; try again later', retryAfterS: Math.ceil(s.windowMs / 1000) };
    }
    const user: AdminUser | null = name.length > 0 && name.length <= 64 ? await this.store.getUser(name) : null;
    const good = await verifyPassword(password, user?.passwordHash ?? null);
    if (!user || !good) {
      await Promise.all([this.state.increment(ipKey, 1, s.windowMs), this.state.increment(userKey, 1, s.windowMs)]);
      return { ok: false, status: 401, error: 'wrong user name or password' };
    }
    await this.state.delete(userKey);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const now = this.now();
    const idHash = sha256(id);
    await this.store.createSession({ idHash, user: user.name, csrf, createdAt: now, lastSeenAt: now });
    // Expired sessions go with each login: the table holds only the living and the recent.
    await this.store.pruneSessions(now - s.lifetimeMs, now - s.idleMs);
    return { ok: true, session: { idHash, user: user.name, role: user.role, csrf, permissions: ROLE_PERMISSIONS[user.role] }, cookie: this.cookie(id, Math.floor(s.lifetimeMs / 1000)) };
  }

  /** The Set-Cookie value for a session id (or for deleting the cookie: id '' and maxAge 0). */
  cookie(id: string, maxAgeS: number): string {
    return `${this.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${this.settings().secure ? '; Secure' : ''}`;
  }

  /** The request's live session, or null. */
  async session(req: IncomingMessage): Promise<Session | null> {
    const id = cookies(req).get(this.cookieName);
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const idHash = sha256(id);
    const stored = await this.store.getSession(idHash);
    if (!stored) return null;
    const now = this.now();
    const s = this.settings();
    if (now - stored.createdAt > s.lifetimeMs || now - stored.lastSeenAt > s.idleMs) {
      await this.store.deleteSession(idHash);
      return null;
    }
    const user = await this.store.getUser(stored.user);
    // A user deleted since the login has no session any more.
    if (!user) return null;
    if (now - stored.lastSeenAt > TOUCH_EVERY) await this.store.touchSession(idHash, now);
    return { idHash, user: user.name, role: user.role, csrf: stored.csrf, permissions: ROLE_PERMISSIONS[user.role] };
  }

  async logout(s: Session): Promise<void> {
    await this.store.deleteSession(s.idHash);
    for (const f of this.ended) f(s.idHash);
  }

  /** Called with a session's id hash when it is logged out (live streams close). */
  onLogout(f: (idHash: string) => void): void {
    this.ended.push(f);
  }

  /** Whether a session (of a long-lived request) is still valid: not expired, not revoked, its user still there. */
  async alive(s: Session): Promise<boolean> {
    const stored = await this.store.getSession(s.idHash);
    if (!stored) return false;
    const now = this.now();
    const set = this.settings();
    if (now - stored.createdAt > set.lifetimeMs || now - stored.lastSeenAt > set.idleMs) return false;
    return (await this.store.getUser(stored.user)) !== null;
  }

  /** Throws 403 unless the request carries the session's CSRF token. */
  static checkCsrf(req: IncomingMessage, s: Session): void {
    const sent = req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || sent.length !== s.csrf.length || !constantEqual(sent, s.csrf)) throw new HttpError(403, 'missing or wrong CSRF token');
  }
}

function constantEqual(a: string, b: string): boolean {
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/**
 * Which Host headers and Origins the console answers: its own listen address, localhost on that
 * port, and the public URL's host. Any other Host (a DNS-rebinding page) gets 421; a state change
 * whose Origin is not one of ours gets 403.
 */
export class OriginPolicy {
  private readonly hosts: ReadonlySet<string>;
  private readonly wildcard: boolean;
  private readonly port: string;
  private readonly publicOrigin: string | null;

  constructor(listen: { host: string; port: number }, readonly tls: boolean, publicUrl: string | undefined) {
    this.port = String(listen.port);
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    this.wildcard = listen.host === '0.0.0.0' || listen.host === '::';
    const pub = publicUrl ? new URL(publicUrl) : null;
    this.publicOrigin = pub ? pub.origin : null;
    this.hosts = new Set([`${host}:${this.port}`, `localhost:${this.port}`, ...(pub ? [pub.host] : [])].map((h) => h.toLowerCase()));
  }

  hostAllowed(hostHeader: string | undefined): boolean {
    const h = (hostHeader ?? '').toLowerCase();
    if (this.hosts.has(h)) return true;
    // Bound to every address: any IP literal on our port is us (a name could be a rebinding attack).
    return this.wildcard && (new RegExp(`^(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-f:.]+\\]):${this.port}$`).test(h));
  }

  /** Throws unless the Origin (when the client sent one) is ours; Sec-Fetch-Site must not be cross-site. */
  check(req: IncomingMessage): void {
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'cross-site request refused');
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const own = `${this.tls ? 'https' : 'http'}://${String(req.headers.host ?? '').toLowerCase()}`;
    if (origin.toLowerCase() !== own && origin !== this.publicOrigin) throw new HttpError(403, 'cross-origin request refused');
  }
}
