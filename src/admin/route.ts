/**
 * What the console's route modules share: the request context a handler gets, the route shape
 * (who may call it), and the console's ports — the control IPC to the workers, the message log,
 * the effective config — handed in by the supervisor (src/cli/supervisor.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import type { ConfigError } from '../config/load.js';
import type { ControlAnswer, ControlRequest } from '../gateway/control.js';
import type { Logger } from '../platform/logger.js';
import type { MessageLogStore } from '../store/message-log.js';
import type { MessageStatsReader } from '../store/message-stats.js';
import type { SenderEntryStore } from '../senders/entries.js';
import type { NodeRegistry } from '../store/nodes.js';
import type { ConsoleAuth, OriginPolicy, Permission, Session } from './auth.js';
import type { Method, Reply } from './http.js';

export interface Ctx {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** The caller's session (null on public routes without one). */
  readonly session: Session | null;
  readonly ip: string;
}

export interface RouteDef {
  /** "public": anyone; "session": any logged-in user; else the permission needed. */
  readonly perm: Permission | 'public' | 'session';
  handle(c: Ctx): Promise<Reply>;
}

export type RouteList = readonly (readonly [Method, string, RouteDef])[];

/** What the console can do beyond the core (seams for features of other releases). */
export interface Capabilities {
  /** Training the Bayes classifier from the quarantine (release-and-learn-ham, delete-and-learn-spam). */
  readonly learn: boolean;
  /** Allow/block lists the console can change at run time (src/senders). */
  readonly senderLists: boolean;
}

export interface ConsoleDeps {
  readonly auth: ConsoleAuth;
  readonly origins: OriginPolicy;
  /** A control request to the workers (IPC), answers merged. */
  readonly ask: (req: ControlRequest) => Promise<ControlAnswer>;
  /** The message log (read only); null when messageLog.enabled is false. */
  readonly log: (MessageLogStore & MessageStatsReader) | null;
  /** The cluster's node list (heartbeats); null on one machine. */
  readonly nodes: NodeRegistry | null;
  /** This node's name (config `node`, default the host name). */
  readonly node: string;
  readonly config: () => Config;
  /** Validates a config text as `moat check-config` does (schema, policy, certificates). */
  readonly checkConfig: (yaml: string) => Promise<{ readonly ok: boolean; readonly errors: readonly ConfigError[] }>;
  readonly health: () => { readonly ok: boolean; readonly detail: Readonly<Record<string, unknown>> };
  readonly linkSecret: () => Promise<Buffer>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly capabilities: Capabilities;
  /** Trains Bayes on a quarantined message (ham before a release, spam before a delete); the store's outcome. */
  readonly learn: (id: string, as: 'spam' | 'ham') => Promise<string>;
  /** The run-time sender entries (src/senders); null when the store could not be opened. */
  readonly senders: SenderEntryStore | null;
  /** Directory of the built UI (dist/src/admin/ui). */
  readonly assetsDir: string;
}

/** The session of a route that needs one (the dispatcher has checked it). */
export function sessionOf(c: Ctx): Session {
  if (!c.session) throw new Error('route without a session');
  return c.session;
}
