/**
 * A small client of the admin console's JSON API for end-to-end tests: keeps the session cookie
 * and the CSRF token like the browser UI does, and can leave either out to show the refusals.
 * Also creates console users through the real CLI (`moat admin add-user`, password on stdin).
 */
import { request as httpRequest } from 'node:http';
import { runCommand } from '../harness/process.js';
import { BIN, type GatewayProcess } from './gateway-process.js';

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export async function addUser(gw: GatewayProcess, name: string, role: string, password: string): Promise<void> {
  const r = await runCommand(process.execPath, [BIN, 'admin', 'add-user', name, '--role', role, '--config', gw.configFile], { input: `${password}\n`, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`add-user ${name}: ${r.code} ${r.stderr}`);
}

export class ConsoleClient {
  cookie: string | null = null;
  csrf: string | null = null;

  constructor(readonly base: string) {}

  async request(method: 'GET' | 'POST', path: string, body?: unknown, o: { csrf?: boolean; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (this.cookie) headers['cookie'] = this.cookie;
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      if (o.csrf !== false && this.csrf) headers['x-csrf-token'] = this.csrf;
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}), signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get(path: string): Promise<ApiAnswer> {
    return this.request('GET', path);
  }

  post(path: string, body?: unknown, o: { csrf?: boolean; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
    return this.request('POST', path, body, o);
  }

  async login(name: string, password: string): Promise<ApiAnswer> {
    const r = await this.post('/api/login', { name, password });
    const set = r.headers.get('set-cookie');
    if (r.status === 200 && set) {
      this.cookie = set.split(';')[0] ?? null;
      this.csrf = String(r.body['csrf']);
    }
    return r;
  }
}

/** One server-sent events stream (GET), read with node:http: its status, and its events as they come. */
export interface EventStream {
  readonly status: number;
  /** Each event: its name ("message" when none) and data; comments (heartbeats) as name ":". */
  readonly events: { readonly name: string; readonly data: string; readonly at: number }[];
  /** The next event after index `from` that satisfies `match`. */
  next(match: (e: { name: string; data: string }) => boolean, from?: number, timeoutMs?: number): Promise<{ name: string; data: string; at: number }>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export function openEventStream(base: string, path: string, cookie: string | null): Promise<EventStream> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: Number(u.port), path: `${u.pathname}${u.search}`, headers: { accept: 'text/event-stream', ...(cookie ? { cookie } : {}) } }, (res) => {
      const events: { name: string; data: string; at: number }[] = [];
      const waiters = new Set<() => void>();
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let name = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) name = ':';
            else if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (name === 'message' && data.length === 0) continue;
          events.push({ name, data: data.join('\n'), at: Date.now() });
          for (const w of waiters) w();
        }
      });
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      resolve({
        status: res.statusCode ?? 0,
        events,
        ended,
        next(match, from = 0, timeoutMs = 20_000) {
          return new Promise((ok, fail) => {
            const look = (): boolean => {
              const hit = events.slice(from).find(match);
              if (!hit) return false;
              waiters.delete(check);
              clearTimeout(timer);
              ok(hit);
              return true;
            };
            const check = (): void => void look();
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.slice(-3))}`));
            }, timeoutMs);
            waiters.add(check);
            look();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
