/**
 * One message through the pipeline's data phase, offline (`moat scan`): a MessageView built from
 * the file (cut at policy.scanLimit, parsed with the same bounded MIME parse as the gateway), the
 * configured content checks with the real DNS resolver on `dns.servers`, the state store when
 * dataDir has one and the configured external scanners, and the policy's verdict. The envelope is
 * unknown (null sender, no recipients), the session a local one, so the envelope-stage checks have nothing to run. A check that fails
 * shows up as its TEMPFAIL symbol, as in the gateway.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { INERT, createChecks } from '../checks/index.js';
import type { Config } from '../config/schema.js';
import { bayesPath, redisOptions, scannerPorts, statePath } from '../main-stores.js';
import { messageView } from '../pipeline/message.js';
import type { Explanation } from '../pipeline/policy.js';
import { createPolicy, PipelineSession } from '../pipeline/runner.js';
import { systemClock } from '../platform/clock.js';
import { createResolver, systemServers } from '../platform/dns/index.js';
import { limitsForScan, mimeParser } from '../scan/mime/index.js';
import { SqliteStateStore } from '../store/sqlite/state.js';
import type { BayesStore } from '../store/bayes.js';
import { SqliteBayesStore } from '../store/sqlite/bayes.js';
import { StoreError, type StateStore } from '../store/state.js';

export interface ScanResult {
  readonly file: string;
  readonly score: number;
  readonly action: Explanation['action'];
  readonly reason: string;
  readonly thresholds: Explanation['thresholds'];
  readonly symbols: readonly { readonly name: string; readonly score: number; readonly description: string; readonly detail: string; readonly observed: boolean }[];
}

export interface Scanner {
  scan(file: string, raw: Buffer): Promise<ScanResult>;
  close(): Promise<void>;
}

/** No state store in dataDir: checks that need one fail (their TEMPFAIL symbol), as when it is down. */
const NO_STATE: StateStore = {
  get: () => Promise.reject(new StoreError('no state store in dataDir')),
  set: () => Promise.reject(new StoreError('no state store in dataDir')),
  setIfAbsent: () => Promise.reject(new StoreError('no state store in dataDir')),
  delete: () => Promise.reject(new StoreError('no state store in dataDir')),
  increment: () => Promise.reject(new StoreError('no state store in dataDir')),
  close: () => Promise.resolve(),
};

/** No Bayes database in dataDir: nothing learned, so Bayes stays silent. */
const NO_BAYES: BayesStore = {
  lookup: () => Promise.resolve({ totals: { spam: 0, ham: 0 }, counts: new Map() }),
  totals: () => Promise.resolve({ spam: 0, ham: 0 }),
  learn: () => Promise.reject(new StoreError('no bayes store in dataDir')),
  forget: () => Promise.reject(new StoreError('no bayes store in dataDir')),
  learnedAs: () => Promise.resolve(null),
  expire: () => Promise.resolve(0),
  close: () => Promise.resolve(),
};

const LOCAL_SESSION = { id: 'scan', clientIp: '127.0.0.1', clientPort: 0, localIp: '127.0.0.1', localPort: 0 };

/** The Redis stores of a redis:// state (ioredis is loaded only then: it costs each scan thread ~0.2 s of CPU to load). */
async function redisStores(config: Config): Promise<{ state: StateStore; bayes: BayesStore; connected: Promise<unknown> }> {
  const [{ RedisStateStore }, { RedisBayesStore }] = await Promise.all([import('../store/redis/state.js'), import('../store/redis/bayes.js')]);
  const state = new RedisStateStore(redisOptions(config));
  const bayes = new RedisBayesStore(redisOptions(config));
  // Redis has no offline queue: the first scan waits (bounded) for the connections.
  const connected = Promise.all([state, bayes].map((s) => s.ready(config.redis.connectTimeout).catch(() => undefined)));
  return { state, bayes, connected };
}

export async function createScanner(config: Config): Promise<Scanner> {
  const clock = systemClock;
  const resolver = createResolver({ ...config.dns, servers: config.dns.servers ?? systemServers(), clock });
  // A SQLite state file is read only when it exists (scan creates nothing); a shared Redis is asked.
  // Bayes is read-only: an offline scan learns nothing (auto-learning is off here too); Redis (with
  // a redis:// state) is asked as the gateway asks it.
  const file = statePath(config);
  const { state, bayes, connected } =
    file === null
      ? await redisStores(config)
      : {
          state: existsSync(file) ? new SqliteStateStore(file, clock) : NO_STATE,
          bayes: existsSync(bayesPath(config)) ? new SqliteBayesStore(bayesPath(config), { readonly: true }) : NO_BAYES,
          connected: Promise.resolve(),
        };
  const checksConfig = { ...config.checks, bayes: { ...config.checks.bayes, autoLearn: null } };
  // Only content checks run offline: the envelope stage's LDAP/LAN probes get the refusing ports.
  // The external scanners (clamd, spamd, rspamd) are asked when configured, as in the gateway.
  const ruleFiles = { read: (p: string) => readFile(p), list: (d: string) => readdir(d) };
  const checks = createChecks(checksConfig, config.domains, { ...INERT, resolver, clock, state, hostname: config.hostname, scanners: scannerPorts(), bayes, ruleFiles }, false, config);
  const policy = createPolicy(checks, config.policy);
  const parse = mimeParser(limitsForScan(config.policy.scanLimit));
  const isLocal = (d: string): boolean => Object.hasOwn(config.domains, d);
  return {
    async scan(name, raw) {
      await connected;
      const limit = config.policy.scanLimit;
      const view = messageView(raw.length > limit ? raw.subarray(0, limit) : raw, raw.length, async function* () {
        yield raw;
      }, parse);
      const session = new PipelineSession({ checks, policy, isLocal }, LOCAL_SESSION);
      const v = await session.data(view, { from: null, recipients: [] }, AbortSignal.timeout(config.policy.scanTimeout));
      return {
        file: name,
        score: v.score,
        action: v.action,
        reason: v.reason,
        thresholds: v.thresholds,
        symbols: v.findings.map((f) => ({ name: f.symbol, score: f.score, description: f.description, detail: f.detail, observed: f.observed })),
      };
    },
    close: async () => {
      await state.close();
      await bayes.close();
    },
  };
}
