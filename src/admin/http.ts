/**
 * The console's HTTP plumbing on node:http: a router of exact paths with ":name" segments, typed
 * replies, bounded body reading (JSON or a urlencoded form), cookies, and the security headers
 * every answer carries (CSP default-src 'self' with frame-ancestors 'none' and no inline script,
 * nosniff, no referrer, no caching of API answers). Why not a framework: the routes are few and
 * fixed, every header must be ours, and the supervisor that runs this stays small (it is the one
 * process that must never stall); node:http with ~150 lines does it.
 * Trusts nothing from the client: bodies are bounded and parsed defensively; errors thrown as
 * HttpError carry their own status and a short public message, anything else is a bare 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The document inside the preview frame: nothing remote, no script, only inline styles and data: images. */
export const PREVIEW_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox";
/** The same policy inside the document (a <meta> cannot carry frame-ancestors or sandbox). */
export const PREVIEW_META_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export type Reply =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly html: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly body: Buffer; readonly type: string; readonly headers?: Readonly<Record<string, string>> }
  /** A long-lived answer (server-sent events): the headers are sent, then `stream` owns the response. */
  | { readonly status: number; readonly stream: (res: ServerResponse) => void; readonly headers?: Readonly<Record<string, string>> };

export function json(data: unknown, status = 200, headers: Readonly<Record<string, string>> = {}): Reply {
  return { status, json: data, headers };
}

export function html(text: string, status = 200, headers: Readonly<Record<string, string>> = {}): Reply {
  return { status, html: text, headers };
}

export function send(res: ServerResponse, r: Reply, head: boolean): void {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, ...(r.headers ?? {}) };
  if ('stream' in r) {
    res.writeHead(r.status, headers);
    if (head) res.end();
    else r.stream(res);
    return;
  }
  let body: Buffer;
  if ('json' in r) {
    body = Buffer.from(JSON.stringify(r.json), 'utf8');
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['cache-control'] ??= 'no-store';
  } else if ('html' in r) {
    body = Buffer.from(r.html, 'utf8');
    headers['content-type'] = 'text/html; charset=utf-8';
    headers['cache-control'] ??= 'no-store';
  } else {
    body = r.body;
    headers['content-type'] = r.type;
  }
  headers['content-length'] = String(body.length);
  res.writeHead(r.status, headers);
  res.end(head ? undefined : body);
}

/** Reads the body, at most `limit` octets (413 beyond). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'request body too large');
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new HttpError(413, 'request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

/** A JSON object body (415 for another type, 400 for bad JSON or a non-object). */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'expected application/json');
  const raw = await readBody(req, limit);
  let v: unknown;
  try {
    v = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'expected a JSON object');
  return v as Record<string, unknown>;
}

/** An application/x-www-form-urlencoded body (the digest pages' forms). */
export async function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) throw new HttpError(415, 'expected a form');
  return new URLSearchParams((await readBody(req, limit)).toString('utf8'));
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (!out.has(k)) out.set(k, part.slice(eq + 1).trim());
  }
  return out;
}

export type Method = 'GET' | 'POST';

export interface Matched<T> {
  readonly route: T;
  readonly params: Readonly<Record<string, string>>;
}

/** Paths such as "/api/quarantine/:id/release"; a parameter is one non-empty segment. */
export class Router<T> {
  private readonly routes: { method: Method; parts: readonly string[]; route: T }[] = [];

  add(method: Method, path: string, route: T): void {
    this.routes.push({ method, parts: path.split('/').slice(1), route });
  }

  /** The route for a method and path; `allowed` lists the methods of a path found with another method. */
  match(method: string, path: string): Matched<T> | { allowed: Method[] } | null {
    const parts = path.split('/').slice(1);
    const allowed: Method[] = [];
    for (const r of this.routes) {
      if (r.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const want = r.parts[i] as string;
        const got = parts[i] as string;
        if (want.startsWith(':')) {
          if (got === '') ok = false;
          else params[want.slice(1)] = decodeURIComponent(got);
        } else ok = want === got;
      }
      if (!ok) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r.route, params };
      allowed.push(r.method);
    }
    return allowed.length > 0 ? { allowed } : null;
  }
}

/** The client's address (IPv4-mapped IPv6 as IPv4). */
export function clientIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
