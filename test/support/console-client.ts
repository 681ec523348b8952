/**
 * A small client of the admin console's JSON API for end-to-end tests: keeps the session cookie
 * and the CSRF token like the browser UI does, and can leave either out to show the refusals.
 * Also creates console users through the real CLI (`moat admin add-user`, password on stdin).
 */
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
