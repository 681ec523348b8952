/**
 * The one explicit list of checks (CONVENTIONS.md 2), in the order they run within each phase, and
 * their config slice under `checks:`. The relay guard always runs first and cannot be turned off.
 * Checks get their ports here and do no I/O until a session opens them.
 */
import { z } from 'zod';
import type { CheckEntry } from '../pipeline/runner.js';
import type { Check } from '../pipeline/types.js';
import type { CheckCommon } from './options.js';
import type { Resolver } from '../platform/dns/index.js';
import type { Clock } from '../platform/clock.js';
import type { StateStore } from '../store/state.js';
import { relayGuard } from './relay-guard/index.js';
import { pregreet, pregreetSchema } from './pregreet/index.js';
import { greylist, greylistSchema } from './greylist/index.js';
import { rateLimit, rateLimitSchema } from './rate-limit/index.js';
import { senderLists, senderListsSchema } from './sender-lists/index.js';
import { scanChecks, type ScannerConfigs, type ScannerPorts } from '../scan/index.js';
import { clamavCheckSchema } from '../scan/clamav/index.js';
import { rspamdCheckSchema } from '../scan/rspamd/index.js';
import { spamassassinCheckSchema } from '../scan/spamd/index.js';

export const checksSchema = z
  .object({
    pregreet: pregreetSchema,
    senderLists: senderListsSchema,
    greylist: greylistSchema,
    rateLimit: rateLimitSchema,
    clamav: clamavCheckSchema,
    rspamd: rspamdCheckSchema,
    spamassassin: spamassassinCheckSchema,
  })
  .strict()
  .prefault({})
  .describe('Connection, envelope and content checks (each with enabled/observe/failOpen)');

export type ChecksConfig = z.infer<typeof checksSchema>;

export interface CheckPorts {
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly state: StateStore;
  /** Our own name (banner, HELO checks). */
  readonly hostname: string;
  /** Adapters for the external content scanners (clamd, spamd, rspamd). */
  readonly scanners: ScannerPorts;
}

/**
 * The configured checks in order; `all` also builds disabled ones (to know every symbol).
 * `scanners` are the top-level scanner slices (clamav, spamassassin, rspamd): absent ones are not used.
 */
export function createChecks(config: ChecksConfig, ports: CheckPorts, all = false, scanners: ScannerConfigs = {}): CheckEntry[] {
  const entry = (check: Check, c: CheckCommon): CheckEntry[] => (c.enabled || all ? [{ check, observe: c.observe, failOpen: c.failOpen }] : []);
  return [
    { check: relayGuard(), observe: false, failOpen: false },
    ...entry(pregreet(config.pregreet, ports.state), config.pregreet),
    // Allow lists first: their facts let later checks skip.
    ...entry(senderLists(config.senderLists), config.senderLists),
    // After recipient validation: a refused recipient makes no triplet and uses no rate.
    ...entry(greylist(config.greylist, ports), config.greylist),
    ...entry(rateLimit(config.rateLimit, ports), config.rateLimit),
    // End of data: the external scanners (antivirus first).
    ...scanChecks(config, scanners, ports.scanners, all),
  ];
}

/** Ports that refuse every use: checks do no I/O when built, so config validation can build them. */
const INERT: CheckPorts = {
  resolver: new Proxy({} as Resolver, { get: () => () => Promise.reject(new Error('validation only')) }),
  clock: { now: () => 0, setTimer: () => ({ cancel: () => undefined }) },
  state: new Proxy({} as StateStore, { get: () => () => Promise.reject(new Error('validation only')) }),
  hostname: 'validation.invalid',
  scanners: {
    clamd: () => ({ scan: () => Promise.reject(new Error('validation only')) }),
    spamd: () => ({ check: () => Promise.reject(new Error('validation only')) }),
    rspamd: () => ({ check: () => Promise.reject(new Error('validation only')) }),
  },
};

/** The checks a config would run, built without I/O, for validating the policy against their symbols. */
export function checksForValidation(config: ChecksConfig, scanners: ScannerConfigs = {}): CheckEntry[] {
  // Disabled checks too: an operator may tune a symbol before turning its check on.
  return createChecks(config, INERT, true, scanners);
}
