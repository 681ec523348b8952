/**
 * Part of the composition root (main.ts re-exports it): the openers of the Bayes and state stores
 * and the external scanners' adapters, in a module of their own so that the offline commands
 * (`moat scan`, `moat learn`) load only what they open, not the whole gateway (SMTP server, queue,
 * PostgreSQL, the console: about 1 s of CPU of module loading in every `moat scan` thread).
 * Trusts the validated config; the stores fail as their modules say (StoreError).
 */
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import type { Clock } from './platform/clock.js';
import { ClamdClient } from './platform/clamd.js';
import { RspamdClient } from './platform/rspamd.js';
import type { SocketTarget } from './platform/scanner-io.js';
import { SpamdClient } from './platform/spamd.js';
import type { ScannerPorts } from './scan/index.js';
import type { ScannerProbe } from './gateway/scanner-health.js';
import { parseSocketAddress } from './scan/options.js';
import type { BayesStore } from './store/bayes.js';
import { RedisBayesStore } from './store/redis/bayes.js';
import { RedisStateStore } from './store/redis/state.js';
import { SqliteBayesStore } from './store/sqlite/bayes.js';
import { SqliteStateStore } from './store/sqlite/state.js';
import type { StateStore } from './store/state.js';

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

/**
 * The Bayes token store: with `state: redis://…` the Redis shared by the nodes (keys under
 * redis.keyPrefix + "bayes:"; checks.bayes.store is then not used), else the SQLite file
 * (bayesPath), read-only when asked.
 */
export function openBayesStore(c: Config, options: { readonly readonly?: boolean } = {}): BayesStore {
  if (statePath(c) === null) {
    return new RedisBayesStore({ url: c.state, keyPrefix: c.redis.keyPrefix, commandTimeoutMs: c.redis.commandTimeout, connectTimeoutMs: c.redis.connectTimeout });
  }
  return new SqliteBayesStore(bayesPath(c), options);
}

/** The state store the config names: SQLite (swept by `sweeps`), or the Redis shared by the nodes. */
export function openStateStore(c: Config, clock: Clock, sweeps: boolean): StateStore {
  const file = statePath(c);
  if (file === null) {
    return new RedisStateStore({ url: c.state, keyPrefix: c.redis.keyPrefix, commandTimeoutMs: c.redis.commandTimeout, connectTimeoutMs: c.redis.connectTimeout });
  }
  const s = new SqliteStateStore(file, clock);
  if (sweeps) s.startSweeping(60_000);
  return s;
}
