/**
 * The admin console on the admin listener, beside /metrics and /healthz: the JSON API under
 * /api/, the UI's static files, and the digest's signed-link pages under /q/. One dispatcher
 * applies the rules every route shares, in this order: the Host must be ours (DNS rebinding),
 * the route's permission (401 without a session, 403 without the role), and for every POST the
 * Origin (and Sec-Fetch-Site) must be ours and — for a logged-in caller — the session's CSRF token
 * must be in X-CSRF-Token. Every answer carries the security headers (http.ts).
 * Fails toward refusal: an unexpected error is a 500 with no detail (logged as admin.error).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConsoleAuth } from './auth.js';
import { clientIp, HttpError, json, Router, send, type Reply } from './http.js';
import type { ConsoleDeps, Ctx, RouteDef } from './route.js';
import { loadAssets } from './static.js';
import { sessionRoutes } from './api-session.js';
import { dashboardRoutes } from './api-dashboard.js';
import { messageRoutes } from './api-messages.js';
import { quarantineRoutes } from './api-quarantine.js';
import { configRoutes } from './api-config.js';
import { senderRoutes } from './api-senders.js';
import { publicLinkRoutes } from './public-links.js';
import { EventHub, eventRoutes } from './events.js';

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export async function createConsole(deps: ConsoleDeps): Promise<ConsoleHandler> {
  const router = new Router<RouteDef>();
  const assets = await loadAssets(deps.assetsDir);
  const hub = new EventHub(deps, deps.auth, () => {
    const e = deps.config().admin.events;
    return { intervalMs: e.interval, heartbeatMs: e.heartbeat, maxStreamsPerUser: e.maxStreamsPerUser };
  });
  deps.auth.onLogout((idHash) => hub.closeSession(idHash));
  for (const [method, path, route] of [
    ...sessionRoutes(deps),
    ...dashboardRoutes(deps),
    ...messageRoutes(deps),
    ...quarantineRoutes(deps),
    ...configRoutes(deps),
    ...senderRoutes(deps),
    ...eventRoutes(hub),
    ...publicLinkRoutes(deps),
  ]) {
    router.add(method, path, route);
  }

  const dispatch = async (req: IncomingMessage, url: URL): Promise<Reply> => {
    if (!deps.origins.hostAllowed(req.headers.host)) throw new HttpError(421, 'unknown host name');
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      const asset = assets.get(url.pathname);
      if (asset) {
        if (req.headers['if-none-match'] === asset.etag) return { status: 304, body: Buffer.alloc(0), type: asset.type, headers: { etag: asset.etag } };
        return { status: 200, body: asset.body, type: asset.type, headers: { etag: asset.etag, 'cache-control': 'no-cache' } };
      }
    }
    const m = router.match(method, url.pathname);
    if (!m) throw new HttpError(404, 'not found');
    if ('allowed' in m) throw new HttpError(405, 'method not allowed', {}, { allow: m.allowed.join(', ') });
    const { route, params } = m;
    const session = await deps.auth.session(req);
    if (route.perm !== 'public') {
      if (!session) throw new HttpError(401, 'not logged in');
      if (route.perm !== 'session' && !session.permissions.includes(route.perm)) throw new HttpError(403, `your role (${session.role}) may not do this`);
    }
    if (method === 'POST') {
      deps.origins.check(req);
      if (session && route.perm !== 'public') ConsoleAuth.checkCsrf(req, session);
    }
    const c: Ctx = { req, url, params, session, ip: clientIp(req) };
    return route.handle(c);
  };

  return async (req, res) => {
    let reply: Reply;
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://console.invalid');
      } catch {
        throw new HttpError(400, 'bad request');
      }
      reply = await dispatch(req, url);
    } catch (e) {
      if (e instanceof HttpError) reply = json({ error: e.message, ...e.extra }, e.status, e.headers);
      else if (e instanceof URIError) reply = json({ error: 'bad request' }, 400);
      else {
        deps.logger.error('admin.error', { path: (req.url ?? '').split('?')[0], error: e instanceof Error ? e.message : String(e) });
        reply = json({ error: 'internal error' }, 500);
      }
    }
    send(res, reply, req.method === 'HEAD');
  };
}
