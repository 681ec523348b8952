/**
 * Session routes: GET /api/session (who am I, my CSRF token, whether a first user must be
 * created), POST /api/login, POST /api/logout. A login sets the session cookie; a failed one
 * answers 401 (429 once rate-limited, 503 while no user exists) and is logged without the password.
 */
import { HttpError, json, readJson } from './http.js';
import type { ConsoleDeps, RouteList } from './route.js';
import { sessionOf } from './route.js';
import { SETUP_HINT } from './auth.js';

export function sessionRoutes(deps: ConsoleDeps): RouteList {
  return [
    [
      'GET',
      '/api/session',
      {
        perm: 'public',
        async handle(c) {
          const setupNeeded = await deps.auth.setupNeeded();
          const s = c.session;
          return json({
            user: s ? { name: s.user, role: s.role, permissions: s.permissions } : null,
            csrf: s?.csrf ?? null,
            setupNeeded,
            ...(setupNeeded ? { setupHint: SETUP_HINT } : {}),
            capabilities: deps.capabilities,
            hostname: deps.config().hostname,
            digest: deps.config().quarantine.digest.enabled,
          });
        },
      },
    ],
    [
      'POST',
      '/api/login',
      {
        perm: 'public',
        async handle(c) {
          const body = await readJson(c.req, 16 * 1024);
          const name = typeof body['name'] === 'string' ? body['name'] : '';
          const password = typeof body['password'] === 'string' ? body['password'] : '';
          if (name === '' || password === '' || password.length > 1024) throw new HttpError(400, 'name and password are required');
          const r = await deps.auth.login(name, password, c.ip);
          if (!r.ok) {
            deps.logger.warn('admin.login-failed', { user: name.slice(0, 64), client: c.ip, status: r.status });
            throw new HttpError(r.status, r.error, {}, r.retryAfterS ? { 'retry-after': String(r.retryAfterS) } : {});
          }
          deps.logger.info('admin.login', { user: r.session.user, role: r.session.role, client: c.ip });
          return json(
            { user: { name: r.session.user, role: r.session.role, permissions: r.session.permissions }, csrf: r.session.csrf },
            200,
            { 'set-cookie': r.cookie },
          );
        },
      },
    ],
    [
      'POST',
      '/api/logout',
      {
        perm: 'session',
        async handle(c) {
          await deps.auth.logout(sessionOf(c));
          return json({ ok: true }, 200, { 'set-cookie': deps.auth.cookie('', 0) });
        },
      },
    ],
  ];
}
