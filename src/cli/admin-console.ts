/**
 * The supervisor's side of the admin console: opens what the console reads and writes — the admin
 * store (users, sessions) and the message log (store.db, or the cluster's PostgreSQL, where the
 * dashboard also lists the nodes' heartbeats), the state store (login limits) — and builds the
 * console handler (src/admin/console.ts) over them and the workers' control IPC. Run
 * after the privileges are dropped, before the workers start, so the files belong to Moat's user
 * and the message log's schema is in place before any worker writes. The console reads the
 * message log only; workers write it.
 */
import { join } from 'node:path';
import { ConsoleAuth, OriginPolicy } from '../admin/auth.js';
import { createConsole, type ConsoleHandler } from '../admin/console.js';
import type { Capabilities } from '../admin/route.js';
import { loadLinkSecret } from '../admin/signed-link.js';
import { HttpError } from '../admin/http.js';
import { parseHostPort } from '../config/address.js';
import { parseConfigText, type ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ControlAnswer, ControlRequest } from '../gateway/control.js';
import { linkSecretPath, nodeName, openAdminStore, openMessageLog, openSenderEntries, openStateStore } from '../main-stores.js';
import { systemClock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { NodeRegistry } from '../store/nodes.js';

export interface AdminConsole {
  readonly handler: ConsoleHandler;
  close(): Promise<void>;
}

/** Bayes learning from the quarantine; run-time sender lists (src/senders). */
const CAPABILITIES: Capabilities = { learn: true, senderLists: true };

export async function openAdminConsole(o: {
  readonly config: () => Config;
  readonly ask: (req: ControlRequest) => Promise<ControlAnswer>;
  readonly health: () => { ok: boolean; detail: Readonly<Record<string, unknown>> };
  readonly tlsErrors: (c: Config) => string[];
  readonly logger: Logger;
  /** The cluster's node list (PostgreSQL store), owned by the caller. */
  readonly nodes: NodeRegistry | null;
}): Promise<AdminConsole> {
  const start = o.config();
  const listen = parseHostPort(start.admin.listen);
  if (!listen) throw new Error(`admin.listen: bad address ${start.admin.listen}`);
  const store = await openAdminStore(start);
  const state = await openStateStore(start, systemClock, false);
  // Tracking and the dashboard's rollups read the message log through its ports: the node's
  // store.db, or the cluster's PostgreSQL (every node's mail, each entry with its node's name).
  const log = start.messageLog.enabled ? await openMessageLog(start) : null;
  const senders = await openSenderEntries(start);
  const https = start.admin.tls !== undefined;
  const auth = new ConsoleAuth(
    store,
    state,
    () => {
      const a = o.config().admin;
      return { idleMs: a.session.idle, lifetimeMs: a.session.lifetime, perIp: a.loginLimit.perIp, perUser: a.loginLimit.perUser, windowMs: a.loginLimit.window, secure: https };
    },
    () => systemClock.now(),
  );
  let secret: Promise<Buffer> | null = null;
  const handler = await createConsole({
    auth,
    origins: new OriginPolicy(listen, https, start.admin.publicUrl),
    ask: o.ask,
    log,
    nodes: o.nodes,
    node: nodeName(start),
    config: o.config,
    checkConfig: async (yaml) => {
      const r = parseConfigText(yaml);
      if (!r.ok) return { ok: false, errors: r.errors };
      const tls: ConfigError[] = o.tlsErrors(r.config).map((t) => ({ path: t.slice(0, Math.max(0, t.indexOf(':'))), message: t.slice(t.indexOf(':') + 2) }));
      return { ok: tls.length === 0, errors: tls };
    },
    health: o.health,
    linkSecret: () => (secret ??= loadLinkSecret(linkSecretPath(start)).catch((e: unknown) => {
      secret = null;
      throw e;
    })),
    logger: o.logger,
    now: () => systemClock.now(),
    capabilities: CAPABILITIES,
    senders,
    learn: async (id, as) => {
      // Learning parses the message (src/scan/mime and Bayes): loaded when a user first asks, not at start.
      const { learnQuarantined } = await import('./learn-command.js');
      const l = await learnQuarantined(o.config(), id, as);
      if ('error' in l) throw new HttpError(404, l.error);
      return l.outcome;
    },
    assetsDir: join(import.meta.dirname, '..', 'admin', 'ui'),
  });
  return {
    handler,
    async close() {
      await Promise.all([store.close(), state.close(), log?.close(), senders.close()]);
    },
  };
}
