/**
 * The admin HTTP listener (one per `admin.listen`), run by the supervisor, which never parses mail:
 * `GET /metrics` (Prometheus text, all workers merged) and `GET /healthz` (200 when every worker is
 * ready, else 503) on their exact paths, and every other path to the admin console (console.ts)
 * when one is mounted. HTTPS instead of HTTP when `admin.tls` names a certificate. Binds where the
 * config says — loopback unless the operator wrote another address.
 * Trusts nothing from the client: only GET/HEAD on the exact paths (the console checks its own),
 * bounded header and request times. A handler that fails answers 500 without detail.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parseHostPort } from '../config/address.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';

export interface AdminRoute {
  /** Exact path, e.g. "/metrics". */
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface AdminServer {
  /** The address it listens on ("127.0.0.1:8025"). */
  readonly address: string;
  close(): Promise<void>;
}

export interface Health {
  readonly ok: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
}

export function metricsRoutes(deps: { metrics(): Promise<string>; health(): Health }): AdminRoute[] {
  return [
    {
      path: '/metrics',
      async handle(_req, res) {
        const text = await deps.metrics();
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    {
      path: '/healthz',
      async handle(_req, res) {
        const h = deps.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(`${JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.detail })}\n`);
      },
    },
  ];
}

function plain(res: ServerResponse, code: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...extra });
  res.end(`${text}\n`);
}

export interface AdminServerOptions {
  /** PEM files: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Every request no exact route takes (the console). */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export async function startAdminServer(listen: string, routes: readonly AdminRoute[], options: AdminServerOptions = {}): Promise<AdminServer> {
  const hp = parseHostPort(listen);
  if (!hp) throw new Error(`admin.listen: bad address ${listen}`);
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = byPath.get(path);
    const fallback = options.fallback;
    if (!route && fallback) {
      fallback(req, res).catch(() => {
        if (!res.headersSent) plain(res, 500, 'internal error');
        else res.destroy();
      });
      return;
    }
    if (!route) return plain(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    route.handle(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key), minVersion: 'TLSv1.2' }, onRequest)
    : createServer(onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hp.host, port: hp.port, ipv6Only: hp.host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: listen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether an admin address is on loopback (127.0.0.0/8 or ::1). */
export function isLoopback(listen: string): boolean {
  const host = parseHostPort(listen)?.host ?? '';
  return host === '::1' || /^127\./.test(host);
}
