/**
 * The one explicit list of checks (CONVENTIONS.md 2), in the order they run within each phase, and
 * their config slice under `checks:`. The relay guard always runs first and cannot be turned off.
 * Checks get their ports here and do no I/O until a session opens them.
 */
import { z } from 'zod';
import type { CheckEntry } from '../pipeline/runner.js';
import type { Check } from '../pipeline/types.js';
import type { Resolver } from '../platform/dns/index.js';
import type { Clock } from '../platform/clock.js';
import type { StateStore } from '../store/state.js';
import type { CheckCommon } from './options.js';
import { relayGuard } from './relay-guard/index.js';
import { dnsblSchema } from './dnsbl/config.js';
import { dnsbl } from './dnsbl/index.js';
import { rdnsSchema } from './rdns/config.js';
import { rdns } from './rdns/index.js';
import { heloSchema } from './helo/config.js';
import { helo } from './helo/index.js';

export const checksSchema = z
  .object({
    dnsbl: dnsblSchema,
    rdns: rdnsSchema,
    helo: heloSchema,
  })
  .strict().prefault({}).describe('Connection, envelope and content checks (each with enabled/observe/failOpen)');

export type ChecksConfig = z.infer<typeof checksSchema>;

export interface CheckPorts {
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly state: StateStore;
  /** Our own name (banner, HELO checks). */
  readonly hostname: string;
}

export function createChecks(config: ChecksConfig, ports: CheckPorts): CheckEntry[] {
  const entries: CheckEntry[] = [{ check: relayGuard(), observe: false, failOpen: false }];
  const add = (check: Check, c: CheckCommon): void => void (c.enabled && entries.push({ check, observe: c.observe, failOpen: c.failOpen }));
  // Connection reputation: the decisive DNSBL first (its DNSWL fact is read by later checks), then rDNS, HELO.
  add(dnsbl(config.dnsbl, ports), config.dnsbl);
  add(rdns(config.rdns, ports), config.rdns);
  add(helo(config.helo, ports), config.helo);
  return entries;
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
  return createChecks(config, INERT);
}
