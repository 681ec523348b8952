/**
 * The one explicit list of checks (CONVENTIONS.md 2), in the order they run within each phase, and
 * their config slice under `checks:`. The relay guard always runs first and cannot be turned off;
 * recipient validation comes right after it. Checks get their ports here and do no I/O until a
 * session opens them.
 */
import { z } from 'zod';
import type { CheckEntry } from '../pipeline/runner.js';
import type { Resolver } from '../platform/dns.js';
import type { Clock } from '../platform/clock.js';
import type { Directory } from '../platform/ldap.js';
import type { StateStore } from '../store/state.js';
import { relayGuard } from './relay-guard/index.js';
import { recipientsCheckSchema } from './recipients/config.js';
import { recipientsCheck, type RecipientDomains } from './recipients/index.js';
import type { RecipientProber } from './recipients/ports.js';

export const checksSchema = z
  .object({
    recipients: recipientsCheckSchema,
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
  /** LDAP lookups (recipient validation). */
  readonly directory: Directory;
  /** Asks a domain's LAN server whether it takes an address (recipient verification). */
  readonly prober: RecipientProber;
  /** Reads an operator's text file (static recipient lists). */
  readonly readText: (path: string) => Promise<string>;
}

/** What checks need to know of `domains` besides the names: each domain's recipient validation. */
export type CheckDomains = RecipientDomains;

export function createChecks(config: ChecksConfig, domains: CheckDomains, ports: CheckPorts): CheckEntry[] {
  const entries: CheckEntry[] = [{ check: relayGuard(), observe: false, failOpen: false }];
  const r = config.recipients;
  if (r.enabled) entries.push({ check: recipientsCheck(r, domains, ports), observe: r.observe, failOpen: r.failOpen });
  return entries;
}

const refuse = (): Promise<never> => Promise.reject(new Error('validation only'));

/** Ports that refuse every use: checks do no I/O when built, so config validation can build them. */
const INERT: CheckPorts = {
  resolver: new Proxy({} as Resolver, { get: () => refuse }),
  clock: { now: () => 0, setTimer: () => ({ cancel: () => undefined }) },
  state: new Proxy({} as StateStore, { get: () => refuse }),
  hostname: 'validation.invalid',
  directory: { exists: refuse, close: () => Promise.resolve() },
  prober: { probe: refuse },
  readText: refuse,
};

/** The checks a config would run, built without I/O, for validating the policy against their symbols. */
export function checksForValidation(config: ChecksConfig, domains: CheckDomains): CheckEntry[] {
  return createChecks(config, domains, INERT);
}
