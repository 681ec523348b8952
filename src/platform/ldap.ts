/**
 * The directory port: "does an entry match this filter?" asked of an LDAP server (RFC 4511) through
 * the ldapts client. One connection per target (URL, bind DN, password source, TLS) per process,
 * bound once and reused by every lookup (LDAP multiplexes operations by message id), closed after a
 * minute unused; a connection that failed in any way is dropped and the next lookup opens a new
 * one. The bind password is read (from its file or environment variable) when a connection is
 * opened, so a changed password file applies at the next connection; it is never logged.
 * Trusts: the URL names an IP address (config checks it), so no name is resolved here. Trusts the
 * server for nothing but its answer. Fails with LdapError (transient): PASSWORD, CONNECT,
 * CREDENTIALS (then held off for 30 s, so a wrong password cannot lock the account out), BIND,
 * TIMEOUT, ABORTED, SEARCH. A reconnect that lost the bind is caught (isBound) and never searched
 * anonymously, where an ACL would hide every entry and make every user look unknown. ldapts is
 * imported on the first connection (start-up cost of every worker otherwise).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import type { Client } from 'ldapts';

export interface LdapTarget {
  /** "ldap://IP[:port]" or "ldaps://IP[:port]". */
  readonly url: string;
  /** null: anonymous. */
  readonly bindDn: string | null;
  readonly password: { readonly file: string } | { readonly env: string } | null;
  /** Deadline of one lookup (connect, bind and search). */
  readonly timeoutMs: number;
  readonly tls: { readonly verify: boolean; readonly ca?: string | undefined; readonly servername?: string | undefined };
}

export interface LdapQuery {
  readonly baseDn: string;
  readonly scope: 'base' | 'one' | 'sub';
  /** A complete RFC 4515 filter; values already escaped by the caller. */
  readonly filter: string;
}

export interface Directory {
  /** True when at least one entry matches. */
  exists(target: LdapTarget, query: LdapQuery, signal: AbortSignal): Promise<boolean>;
  /** Unbinds every connection. */
  close(): Promise<void>;
}

export type LdapErrorCode = 'PASSWORD' | 'CONNECT' | 'CREDENTIALS' | 'BIND' | 'TIMEOUT' | 'ABORTED' | 'SEARCH';

export class LdapError extends Error {
  override readonly name = 'LdapError';
  readonly transient = true;
  constructor(
    readonly code: LdapErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Connection {
  /** Set once the TLS options are read; null before and when that failed. */
  client: Client | null;
  /** Connected and bound (or anonymous and connected). */
  ready: Promise<void>;
  idle: NodeJS.Timeout | null;
  busy: number;
}

const IDLE_MS = 60_000;
/**
 * After a refused bind, lookups fail at once for this long instead of binding again: a wrong
 * password must not lock the service account out (Active Directory locks after a few failures).
 */
const BIND_HOLD_OFF_MS = 30_000;

async function passwordOf(t: LdapTarget): Promise<string | undefined> {
  const p = t.password;
  if (p === null) return undefined;
  if ('env' in p) {
    const v = process.env[p.env];
    if (v === undefined || v === '') throw new LdapError('PASSWORD', `environment variable ${p.env} is not set`);
    return v;
  }
  try {
    return (await readFile(p.file, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new LdapError('PASSWORD', `cannot read the password file ${p.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function tlsOptions(t: LdapTarget): Promise<ConnectionOptions | undefined> {
  if (!t.url.startsWith('ldaps:')) return undefined;
  const host = new URL(t.url).hostname.replace(/^\[|\]$/g, '');
  const name = t.tls.servername ?? host;
  return {
    rejectUnauthorized: t.tls.verify,
    // No SNI for an IP address (RFC 6066 §3); the certificate is checked against the name we expect.
    ...(isIP(name) === 0 ? { servername: name } : {}),
    checkServerIdentity: (_h, cert) => checkServerIdentity(name, cert),
    ...(t.tls.ca === undefined ? {} : { ca: await readFile(t.tls.ca) }),
  };
}

type Ldapts = typeof import('ldapts');
let loading: Promise<Ldapts> | null = null;
/** Set once ldapts is loaded; errors of its clients are told apart with its classes. */
let loaded: Ldapts | null = null;

/** ldapts, loaded on the first connection: a gateway whose config names no LDAP server never loads it. */
async function ldapts(): Promise<Ldapts> {
  loading ??= import('ldapts');
  loaded = await loading;
  return loaded;
}

function keyOf(t: LdapTarget): string {
  return JSON.stringify([t.url, t.bindDn, t.password, t.tls, t.timeoutMs]);
}

/** Socket-level failures and timeouts of ldapts carry no result code. */
function classify(e: unknown, during: 'bind' | 'search'): LdapError {
  if (e instanceof LdapError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (loaded && e instanceof loaded.InvalidCredentialsError) return new LdapError('CREDENTIALS', 'bind refused: invalid credentials');
  if (loaded && e instanceof loaded.ResultCodeError) return new LdapError(during === 'bind' ? 'BIND' : 'SEARCH', `${during} failed: ${e.name} (${e.code})`);
  if (/timed? ?out/i.test(message)) return new LdapError('TIMEOUT', `${during}: ${message}`);
  return new LdapError('CONNECT', `${during}: ${message}`);
}

/** Where the bound user's own entry is read (its mail attributes); null: not read. */
export interface OwnEntry {
  readonly attributes: readonly string[];
  /** Searched below baseDn with `filter` (an Active Directory UPN bind has no DN to read); absent: the bound DN itself (scope base). */
  readonly search?: { readonly baseDn: string; readonly filter: string };
}

/**
 * SMTP AUTH against the directory (RFC 4513 §5.1.3 simple bind): binds as `dn` with `password` on a
 * connection of its own, then unbinds. Null: the directory said invalidCredentials (49). Otherwise
 * the values of `entry.attributes` of the user's own entry, read with the user's own bind (by a
 * search, one entry must match: none or two give no values, more fail the search with a size
 * limit), or [] when `entry` is null. Anything else
 * (connect, TLS, timeout, another result code, a failed read) throws LdapError, so the caller can
 * answer "try later" rather than "wrong password". An empty password is refused before any bind:
 * RFC 4513 §5.1.2 makes that an unauthenticated bind, which succeeds.
 */
export async function verifyBind(target: Omit<LdapTarget, 'bindDn' | 'password'>, dn: string, password: string, signal: AbortSignal, entry: OwnEntry | null = null): Promise<string[] | null> {
  if (password === '' || dn === '') return null;
  const tls = await tlsOptions({ ...target, bindDn: null, password: null });
  const lib = await ldapts();
  const client = new lib.Client({ url: target.url, timeout: target.timeoutMs, connectTimeout: target.timeoutMs, ...(tls ? { tlsOptions: tls } : {}) });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new LdapError('ABORTED', 'bind aborted (deadline)'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    try {
      await Promise.race([client.bind(dn, password), aborted]);
    } catch (e) {
      if (e instanceof lib.InvalidCredentialsError) return null;
      throw classify(e, 'bind');
    }
    if (entry === null || entry.attributes.length === 0) return [];
    const timeLimit = Math.max(1, Math.ceil(target.timeoutMs / 1000));
    const query = entry.search
      ? client.search(entry.search.baseDn, { scope: 'sub', filter: entry.search.filter, attributes: [...entry.attributes], sizeLimit: 2, timeLimit })
      : client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [...entry.attributes], timeLimit });
    let found;
    try {
      found = (await Promise.race([query, aborted])).searchEntries;
    } catch (e) {
      throw classify(e, 'search');
    }
    if (found.length !== 1) return [];
    const values: string[] = [];
    // ldapts keys attributes as the server names them; compare names case-insensitively (RFC 4512 §2.5).
    const wanted = new Set(entry.attributes.map((a) => a.toLowerCase()));
    for (const [name, v] of Object.entries(found[0] ?? {})) {
      if (name === 'dn' || !wanted.has(name.toLowerCase())) continue;
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') values.push(x);
    }
    return values;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    await client.unbind().catch(() => undefined);
  }
}

export class LdapDirectory implements Directory {
  private readonly connections = new Map<string, Connection>();
  private readonly refused = new Map<string, { until: number; error: LdapError }>();

  constructor(private readonly now: () => number = Date.now) {}

  async exists(target: LdapTarget, query: LdapQuery, signal: AbortSignal): Promise<boolean> {
    const key = keyOf(target);
    const held = this.refused.get(key);
    if (held && held.until > this.now()) throw held.error;
    this.refused.delete(key);
    const conn = this.connection(key, target);
    conn.busy++;
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = null;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new LdapError('TIMEOUT', `no answer within ${target.timeoutMs} ms`)), target.timeoutMs);
      onAbort = () => reject(new LdapError('ABORTED', 'lookup aborted (phase deadline)'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.search(conn, target, query), deadline]);
    } catch (e) {
      const err = classify(e, 'search');
      if (err.code === 'CREDENTIALS') {
        this.refused.set(key, { until: this.now() + BIND_HOLD_OFF_MS, error: new LdapError('CREDENTIALS', `${err.message} (not retried for ${BIND_HOLD_OFF_MS / 1000} s)`) });
      }
      // A refused search (e.g. no such base DN) leaves the connection fine for the others.
      if (err.code !== 'SEARCH') void this.drop(key, conn);
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      conn.busy--;
      if (conn.busy === 0 && this.connections.get(key) === conn) {
        conn.idle = setTimeout(() => this.drop(key, conn), IDLE_MS);
        conn.idle.unref();
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.connections.entries()];
    await Promise.all(all.map(([key, conn]) => this.drop(key, conn)));
  }

  private async search(conn: Connection, target: LdapTarget, query: LdapQuery): Promise<boolean> {
    await conn.ready;
    const client = conn.client;
    if (!client) throw new LdapError('CONNECT', 'no client');
    // A dropped and silently re-opened socket is no longer bound: bind again before searching.
    if (target.bindDn !== null && !client.isBound) {
      conn.ready = this.bind(client, target);
      await conn.ready;
    }
    // "1.1": no attributes (RFC 4511 §4.5.1.8); one entry is enough (a size limit of 1 is not an error here).
    const r = await client.search(query.baseDn, { scope: query.scope, filter: query.filter, attributes: ['1.1'], sizeLimit: 1, timeLimit: Math.max(1, Math.ceil(target.timeoutMs / 1000)) });
    if (target.bindDn !== null && !client.isBound) throw new LdapError('BIND', 'the connection lost its bind during the search');
    return r.searchEntries.length > 0;
  }

  private connection(key: string, target: LdapTarget): Connection {
    const have = this.connections.get(key);
    if (have) return have;
    const conn: Connection = { client: null, ready: Promise.resolve(), idle: null, busy: 0 };
    conn.ready = (async () => {
      const tls = await tlsOptions(target);
      const client = new (await ldapts()).Client({
        url: target.url,
        timeout: target.timeoutMs,
        connectTimeout: target.timeoutMs,
        autoRebind: true,
        ...(tls ? { tlsOptions: tls } : {}),
      });
      conn.client = client;
      if (target.bindDn !== null) await this.bind(client, target);
    })();
    // Settled in search(); keep an early failure from being reported as unhandled.
    conn.ready.catch(() => undefined);
    this.connections.set(key, conn);
    return conn;
  }

  private async bind(client: Client, target: LdapTarget): Promise<void> {
    const password = await passwordOf(target);
    try {
      await client.bind(target.bindDn ?? '', password);
    } catch (e) {
      throw classify(e, 'bind');
    }
  }

  private async drop(key: string, conn: Connection): Promise<void> {
    if (this.connections.get(key) === conn) this.connections.delete(key);
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = null;
    try {
      await conn.client?.unbind();
    } catch {
      // Closing anyway.
    }
  }
}
