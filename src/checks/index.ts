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

export const checksSchema = z
  .object({
    pregreet: pregreetSchema,
    senderLists: senderListsSchema,
    greylist: greylistSchema,
    rateLimit: rateLimitSchema,
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
}

/** The configured checks in order; `all` also builds disabled ones (to know every symbol). */
export function createChecks(config: ChecksConfig, ports: CheckPorts, all = false): CheckEntry[] {
  const entry = (check: Check, c: CheckCommon): CheckEntry[] => (c.enabled || all ? [{ check, observe: c.observe, failOpen: c.failOpen }] : []);
  return [
    { check: relayGuard(), observe: false, failOpen: false },
    ...entry(pregreet(config.pregreet, ports.state), config.pregreet),
    // Allow lists first: their facts let later checks skip.
    ...entry(senderLists(config.senderLists), config.senderLists),
    // After recipient validation: a refused recipient makes no triplet and uses no rate.
    ...entry(greylist(config.greylist, ports), config.greylist),
    ...entry(rateLimit(config.rateLimit, ports), config.rateLimit),
  ];
}

/** Ports that refuse every use: checks do no I/O when built, so config validation can build them. */
const INERT: CheckPorts = {
  resolver: new Proxy({} as Resolver, { get: () => () => Promise.reject(new Error('validation only')) }),
  clock: { now: () => 0, setTimer: () => ({ cancel: () => undefined }) },
  state: new Proxy({} as StateStore, { get: () => () => Promise.reject(new Error('validation only')) }),
  hostname: 'validation.invalid',
};

/** The checks a config would run, built without I/O, for validating the policy against their symbols. */
export function checksForValidation(config: ChecksConfig): CheckEntry[] {
  // Disabled checks too: an operator may tune a symbol before turning its check on.
  return createChecks(config, INERT, true);
}
