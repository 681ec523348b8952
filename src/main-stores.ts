/**
 * Composition root, the stores' and scanners' part (CONVENTIONS.md 9): where each store lives for a
 * config and the adapter that opens it, and the external scanners' clients (scans and probes). Used by the worker (src/main.ts), the supervisor and the CLI commands, so it
 * loads none of the gateway: a back-end other than the embedded SQLite (PostgreSQL with pg, Redis
 * with ioredis) is imported only when the config names it, at wiring time.
 * Trusts: a validated config. Fails: an adapter's constructor error propagates to the caller.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import type { Clock } from './platform/clock.js';
import { ClamdClient } from './platform/clamd.js';
import { RspamdClient } from './platform/rspamd.js';
import type { SocketTarget } from './platform/scanner-io.js';
import { SpamdClient } from './platform/spamd.js';
import type { ScannerProbe } from './gateway/scanner-health.js';
import type { ScannerPorts } from './scan/index.js';
import { parseSocketAddress } from './scan/options.js';
import type { AdmissionLimits } from './smtp/server/admission.js';
import type { AdminStore } from './store/admin.js';
import type { BayesStore } from './store/bayes.js';
import type { MessageLogStore } from './store/message-log.js';
import type { MessageStatsReader } from './store/message-stats.js';
import type { NodeRegistry } from './store/nodes.js';
import type { RedisConnectionOptions } from './store/redis/connection.js';
import type { StateStore } from './store/state.js';
import type { SenderEntryStore } from './senders/entries.js';
import { QuarantineStore, type Quarantine } from './quarantine/store.js';
import { SqliteAdminStore } from './store/sqlite/admin.js';
import { SqliteBayesStore } from './store/sqlite/bayes.js';
import { SqliteMessageLog } from './store/sqlite/message-log.js';
import { SqliteStateStore } from './store/sqlite/state.js';
import { SqliteSenderEntryStore } from './senders/sqlite.js';

/** This node's name (config `node`, default the host name): in logs and message log entries. */
export function nodeName(c: Config): string {
  return c.node ?? hostname();
}

/** The connection limits as the admission table counts them (in the supervisor, or in-process). */
export function admissionLimits(c: Config): AdmissionLimits {
  const l = c.limits;
  return {
    maxConnections: l.maxConnections,
    maxConnectionsPerIp: l.maxConnectionsPerIp,
    maxConnectionsPerNet: l.maxConnectionsPerNet,
    connectionRate: l.connectionRate ? { count: l.connectionRate.count, perMs: l.connectionRate.per } : null,
  };
}

/** The external scanners' adapters; a config swap builds new ones (their slots are per pipeline). */
export function scannerPorts(): ScannerPorts {
  const target = (address: string): SocketTarget => parseSocketAddress(address) as SocketTarget; // validated by the schema
  return {
    clamd: (c) => new ClamdClient({ target: target(c.address), timeoutMs: c.timeout, maxSize: c.maxSize, maxConcurrent: c.maxConcurrent }),
    spamd: (c) => new SpamdClient({ target: target(c.address), timeoutMs: c.timeout, maxConcurrent: c.maxConcurrent, ...(c.user ? { user: c.user } : {}) }),
    rspamd: (c) => new RspamdClient({ url: new URL(c.url), timeoutMs: c.timeout, maxConcurrent: c.maxConcurrent }),
  };
}

/** One probe per configured external scanner, each on a client of its own (one slot, the scanner's timeout). */
export function scannerProbes(c: Config): ScannerProbe[] {
  const target = (address: string): SocketTarget => parseSocketAddress(address) as SocketTarget; // validated by the schema
  const probes: ScannerProbe[] = [];
  if (c.clamav) {
    const client = new ClamdClient({ target: target(c.clamav.address), timeoutMs: c.clamav.timeout, maxSize: c.clamav.maxSize, maxConcurrent: 1 });
    probes.push({ name: 'clamd', target: c.clamav.address, ping: (s) => client.ping(s) });
  }
  if (c.spamassassin) {
    const client = new SpamdClient({ target: target(c.spamassassin.address), timeoutMs: c.spamassassin.timeout, maxConcurrent: 1 });
    probes.push({ name: 'spamd', target: c.spamassassin.address, ping: (s) => client.ping(s) });
  }
  if (c.rspamd) {
    const url = new URL(c.rspamd.url);
    const client = new RspamdClient({ url, timeoutMs: c.rspamd.timeout, maxConcurrent: 1 });
    probes.push({ name: 'rspamd', target: `${url.protocol}//${url.host}${url.pathname}`, ping: (s) => client.ping(s) });
  }
  return probes;
}

/** The state store's file when it is SQLite ("sqlite:" alone means dataDir/state.db); null for Redis. */
export function statePath(c: Config): string | null {
  if (!c.state.startsWith('sqlite:')) return null;
  const path = c.state.slice('sqlite:'.length);
  return path.length > 0 ? path : join(c.dataDir, 'state.db');
}

/** The Bayes store's file: "sqlite:" alone means dataDir/bayes.db. */
export function bayesPath(c: Config): string {
  const path = c.checks.bayes.store.slice('sqlite:'.length);
  return path.length > 0 ? path : join(c.dataDir, 'bayes.db');
}

/** The message store's file when it is SQLite ("sqlite:" alone means dataDir/store.db); null for PostgreSQL. */
export function storePath(c: Config): string | null {
  if (!c.store.startsWith('sqlite:')) return null;
  const path = c.store.slice('sqlite:'.length);
  return path.length > 0 ? path : join(c.dataDir, 'store.db');
}

/** The secret that signs the digest's links (admin/signed-link.ts). */
export function linkSecretPath(c: Config): string {
  return join(c.dataDir, 'link-secret');
}

/** How the Redis stores reach the `state: redis://…` server. */
export function redisOptions(c: Config): RedisConnectionOptions {
  return { url: c.state, keyPrefix: c.redis.keyPrefix, commandTimeoutMs: c.redis.commandTimeout, connectTimeoutMs: c.redis.connectTimeout };
}

/**
 * The Bayes token store: with `state: redis://…` the Redis shared by the nodes (keys under
 * redis.keyPrefix + "bayes:"; checks.bayes.store is then not used), else the SQLite file
 * (bayesPath), read-only when asked.
 */
export async function openBayesStore(c: Config, options: { readonly readonly?: boolean } = {}): Promise<BayesStore> {
  if (statePath(c) === null) return new (await import('./store/redis/bayes.js')).RedisBayesStore(redisOptions(c));
  return new SqliteBayesStore(bayesPath(c), options);
}

/** The state store the config names: SQLite (swept by `sweeps`), or the Redis shared by the nodes. */
export async function openStateStore(c: Config, clock: Clock, sweeps: boolean): Promise<StateStore> {
  const file = statePath(c);
  if (file === null) return new (await import('./store/redis/state.js')).RedisStateStore(redisOptions(c));
  const s = new SqliteStateStore(file, clock);
  if (sweeps) s.startSweeping(60_000);
  return s;
}

/** The message log the config names: the SQLite file (optionally read-only), or the shared PostgreSQL. */
export async function openMessageLog(c: Config, options: { readonly?: boolean } = {}): Promise<MessageLogStore & MessageStatsReader> {
  const file = storePath(c);
  if (file !== null) return new SqliteMessageLog(file, options);
  const { PostgresMessageLog } = await import('./store/postgres/message-log.js');
  return new PostgresMessageLog({ url: c.store, node: nodeName(c), poolSize: c.postgres.poolSize, statementTimeoutMs: c.postgres.statementTimeout });
}

/** The quarantine the config names: the directory under dataDir with SQLite, PostgreSQL with postgres://. */
export async function openQuarantine(c: Config): Promise<Quarantine> {
  if (storePath(c) !== null) return new QuarantineStore(join(c.dataDir, 'quarantine'));
  const { PostgresQuarantine } = await import('./quarantine/postgres.js');
  return new PostgresQuarantine({
    url: c.store,
    node: nodeName(c),
    poolSize: c.postgres.poolSize,
    statementTimeoutMs: c.postgres.statementTimeout,
    stagingDir: join(c.dataDir, 'quarantine-staging'),
  });
}

/** The console's users and sessions: in store.db with the embedded store, in the shared PostgreSQL with postgres://. */
export async function openAdminStore(c: Config): Promise<AdminStore> {
  const file = storePath(c);
  if (file !== null) return new SqliteAdminStore(file);
  const { PostgresAdminStore } = await import('./store/postgres/admin.js');
  return new PostgresAdminStore({ url: c.store, poolSize: Math.min(2, c.postgres.poolSize), statementTimeoutMs: c.postgres.statementTimeout });
}

/** The cluster's node list (heartbeats): in the PostgreSQL store; none for one machine. */
export async function openNodeRegistry(c: Config): Promise<NodeRegistry | null> {
  if (storePath(c) !== null) return null;
  const { PostgresNodeRegistry } = await import('./store/postgres/nodes.js');
  return new PostgresNodeRegistry({ url: c.store, statementTimeoutMs: c.postgres.statementTimeout });
}

/** The run-time sender entries (src/senders): in store.db beside the console's users, or in the shared PostgreSQL. */
export async function openSenderEntries(c: Config): Promise<SenderEntryStore> {
  const file = storePath(c);
  if (file !== null) return new SqliteSenderEntryStore(file);
  const { PostgresSenderEntryStore } = await import('./senders/postgres.js');
  return new PostgresSenderEntryStore({ url: c.store, poolSize: c.postgres.poolSize, statementTimeoutMs: c.postgres.statementTimeout });
}
