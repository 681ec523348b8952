/**
 * The one explicit list of checks (CONVENTIONS.md 2), in the order they run within each phase (their
 * config slice under `checks:` is in config.ts, loaded without them). The relay guard always runs first and cannot be turned off;
 * recipient validation comes right after it. Checks get their ports here and do no I/O until a
 * session opens them.
 */
import type { CheckEntry } from '../pipeline/runner.js';
import type { Check } from '../pipeline/types.js';
import type { CheckCommon } from './options.js';
import type { ChecksConfig } from './config.js';
import type { Resolver } from '../platform/dns/index.js';
import type { Clock } from '../platform/clock.js';
import type { Directory } from '../platform/ldap.js';
import type { StateStore } from '../store/state.js';
import type { RuntimeSenderLists } from '../senders/entries.js';
import { relayGuard } from './relay-guard/index.js';
import { recipientsCheck, type RecipientDomains } from './recipients/index.js';
import type { RecipientProber } from './recipients/ports.js';
import { pregreet } from './pregreet/index.js';
import { dnsbl } from './dnsbl/index.js';
import { rdns } from './rdns/index.js';
import { helo } from './helo/index.js';
import { greylist } from './greylist/index.js';
import { OUTBOUND_RATE_LIMIT, rateLimit, type RateLimitConfig } from './rate-limit/index.js';
import { senderLists } from './sender-lists/index.js';
import { senderLoginCheck, type SenderLoginConfig } from './sender-login/index.js';
import { senderDomainCheck } from './sender-domain/index.js';
import { spfCheck } from './spf/index.js';
import { authCheck } from '../scan/auth/index.js';
import { structureCheck } from '../scan/structure/index.js';
import { rulesCheck } from '../scan/rules/index.js';
import { loadSourcesSync, type RuleFiles, type RuleFilesSync } from '../scan/rules/loader.js';
import type { Logger } from '../platform/logger.js';
import { urlsCheck } from '../scan/urls/index.js';
import { attachmentsCheck } from '../scan/attachments/index.js';
import { bayesCheck } from '../scan/bayes/index.js';
import type { BayesStore } from '../store/bayes.js';
import { scanChecks, type ScannerConfigs, type ScannerPorts } from '../scan/index.js';

export { checksSchema, type ChecksConfig } from './config.js';

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
  /** Reads rule files and lists a rules directory (the rules check, on first use). */
  readonly ruleFiles: RuleFiles;
  /** For checks that report their loading once (rules.loaded); absent: not logged. */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** The rule thread's script, when not the built one beside the rules check (tests running from source). */
  readonly ruleThread?: URL;
  /** The Bayes token store (SQLite embedded). */
  readonly bayes: BayesStore;
  /** Adapters for the external content scanners (clamd, spamd, rspamd). */
  readonly scanners: ScannerPorts;
  /** The run-time allow/block entries' current snapshot (src/senders/live.ts); absent: none. */
  readonly senders?: () => RuntimeSenderLists;
}

/** What checks need to know of `domains` besides the names: each domain's recipient validation. */
export type CheckDomains = RecipientDomains;

/**
 * The configured checks in order; `all` also builds disabled ones (to know every symbol).
 * `scanners` are the top-level scanner slices (clamav, spamassassin, rspamd): absent ones are not used.
 * `outbound`: outbound.rateLimit, the rate-limit instance of outbound sessions, and
 * outbound.senderLogin, the check of the sender addresses AUTH accounts use.
 * `ruleFilesSync` (config validation): the operator's rule files are read at once, so that their symbols are known.
 */
export function createChecks(
  config: ChecksConfig,
  domains: CheckDomains,
  ports: CheckPorts,
  all = false,
  scanners: ScannerConfigs = {},
  outbound?: { readonly rateLimit: RateLimitConfig; readonly senderLogin: SenderLoginConfig },
  ruleFilesSync: RuleFilesSync | null = null,
): CheckEntry[] {
  const entry = (check: Check, c: CheckCommon): CheckEntry[] => (c.enabled || all ? [{ check, observe: c.observe, failOpen: c.failOpen }] : []);
  const list: CheckEntry[] = [
    { check: relayGuard(), observe: false, failOpen: false },
    // An AUTH account's sender address first: a mismatch is refused before any lookup or rate is spent.
    ...(outbound ? entry(senderLoginCheck(outbound.senderLogin, { readText: ports.readText, ...(ports.logger ? { logger: ports.logger } : {}) }), outbound.senderLogin) : []),
    ...entry(pregreet(config.pregreet, ports.state), config.pregreet),
    // Allow lists first: their facts let later checks skip.
    ...entry(senderLists(config.senderLists, ports.senders), config.senderLists),
    // Connection reputation: the decisive DNSBL first (its DNSWL fact is read by later checks), then rDNS, HELO.
    ...entry(dnsbl(config.dnsbl, ports), config.dnsbl),
    ...entry(rdns(config.rdns, ports), config.rdns),
    ...entry(helo(config.helo, ports), config.helo),
    // MAIL: SPF first (its fact feeds DMARC at end of data and greylisting), then the sender domain.
    ...entry(spfCheck(config.spf, ports), config.spf),
    ...entry(senderDomainCheck(config.senderDomain, ports), config.senderDomain),
    ...entry(recipientsCheck(config.recipients, domains, ports), config.recipients),
    // After recipient validation: a refused recipient makes no triplet and uses no rate.
    ...entry(greylist(config.greylist, ports), config.greylist),
    ...entry(rateLimit(config.rateLimit, ports), config.rateLimit),
    ...(outbound ? entry(rateLimit(outbound.rateLimit, ports, OUTBOUND_RATE_LIMIT), outbound.rateLimit) : []),
    // End of data: DKIM, ARC, DMARC (reads the spf fact).
    ...entry(authCheck(config.auth, ports), config.auth),
    // Content stage, cheapest first.
    ...entry(structureCheck(ports.clock), config.structure),
    ...entry(attachmentsCheck(config.attachments), config.attachments),
    ...entry(urlsCheck(config.urls, ports), config.urls),
    ...entry(bayesCheck(config.bayes, ports.bayes, ports.clock), config.bayes),
    // Then the external scanners (antivirus first).
    ...scanChecks(config, scanners, ports.scanners, all),
  ];
  // Rules last: a rule may not take a symbol name another check reports. Validation reads the files at once.
  const taken = new Set(list.flatMap((e) => e.check.symbols.map((s) => s.name)));
  const preloaded = ruleFilesSync && config.rules.enabled ? loadSourcesSync(config.rules, ruleFilesSync) : undefined;
  const rules = rulesCheck(config.rules, { files: ports.ruleFiles, ...(ports.logger ? { logger: ports.logger } : {}) }, { taken, ...(preloaded ? { preloaded } : {}), ...(ports.ruleThread ? { workerUrl: ports.ruleThread } : {}) });
  return [...list, ...entry(rules, config.rules)];
}

const refuse = (): Promise<never> => Promise.reject(new Error('validation only'));

/** Ports that refuse every use: checks do no I/O when built, so config validation can build them. */
export const INERT: CheckPorts = {
  resolver: new Proxy({} as Resolver, { get: () => refuse }),
  clock: { now: () => 0, setTimer: () => ({ cancel: () => undefined }) },
  state: new Proxy({} as StateStore, { get: () => refuse }),
  hostname: 'validation.invalid',
  directory: { exists: refuse, close: () => Promise.resolve() },
  prober: { probe: refuse },
  readText: refuse,
  ruleFiles: { read: refuse, list: refuse },
  bayes: new Proxy({} as BayesStore, { get: () => refuse }),
  scanners: {
    clamd: () => ({ scan: refuse }),
    spamd: () => ({ check: refuse }),
    rspamd: () => ({ check: refuse }),
  },
};

/** The checks a config would run, built without I/O, for validating the policy against their symbols. */
export function checksForValidation(
  config: ChecksConfig,
  domains: CheckDomains,
  scanners: ScannerConfigs = {},
  outbound?: { readonly rateLimit: RateLimitConfig; readonly senderLogin: SenderLoginConfig },
  ruleFiles: RuleFilesSync | null = null,
): CheckEntry[] {
  // Disabled checks too: an operator may tune a symbol before turning its check on. With `ruleFiles`,
  // the operator's rule files are read now (synchronously), so that their rules' symbols are known.
  return createChecks(config, domains, INERT, true, scanners, outbound, ruleFiles);
}
