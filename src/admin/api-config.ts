/**
 * GET /api/config: the effective config (the one running, after reloads; defaults filled in) with
 * secrets masked (mask.ts), as JSON and YAML. POST /api/config/check {yaml}: validates a config text
 * exactly as `moat check-config` and a reload do (schema, policy, certificates) and answers every
 * error with its path. Nothing is ever written: the console cannot change the config file; apply
 * a checked config by writing the file and sending SIGHUP.
 */
import { stringify } from 'yaml';
import { HttpError, json, readJson } from './http.js';
import { maskConfig } from './mask.js';
import type { ConsoleDeps, RouteList } from './route.js';

const MAX_CONFIG = 1024 * 1024;

export function configRoutes(deps: ConsoleDeps): RouteList {
  return [
    [
      'GET',
      '/api/config',
      {
        perm: 'view',
        async handle() {
          const masked = maskConfig(deps.config());
          return json({ config: masked, yaml: stringify(masked) });
        },
      },
    ],
    [
      'POST',
      '/api/config/check',
      {
        perm: 'view',
        async handle(c) {
          const body = await readJson(c.req, MAX_CONFIG + 4096);
          if (typeof body['yaml'] !== 'string' || body['yaml'].length > MAX_CONFIG) throw new HttpError(400, 'yaml: the config text (at most 1 MiB)');
          const r = await deps.checkConfig(body['yaml']);
          return json({ ok: r.ok, errors: r.errors });
        },
      },
    ],
  ];
}
