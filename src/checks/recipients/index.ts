/**
 * Recipient validation at RCPT, right after the relay guard: mail for a user the LAN server does not
 * have is refused in the SMTP conversation (550 5.1.1), so Moat never accepts mail it would later
 * have to bounce (no backscatter). Per domain (`domains.<d>.recipients`), sources are tried in order
 * — static lists and files, an LDAP directory, verification by the LAN server (see source.ts for the
 * rule). A domain without `recipients` accepts every local part, as before. "postmaster" is always
 * accepted (RFC 5321 §4.5.1).
 *
 * Symbols: RCPT_USER_UNKNOWN (reject, 550 5.1.1 with one generic text for every address, so a reply
 * tells nothing about which addresses exist); RCPT_UNVERIFIED (defer, 451 4.4.3) when no source could
 * tell and the domain says `onUnavailable: defer`; RCPT_UNVERIFIED_ACCEPTED (score 0) when it says
 * `accept`. Both "unverified" symbols are locked: a failure to look up can never become a 5xx.
 * A found recipient reports nothing. Trusts: its ports; the relay guard for the domain being ours.
 * Fails toward 4xx: a source failure is "unavailable", never "unknown"; a throw becomes
 * RECIPIENTS_TEMPFAIL (defer) unless checks.recipients.failOpen is set.
 */
import { parseDomain, type Mailbox } from '../../smtp/address.js';
import { recipientUnverified, userUnknown } from '../../smtp/reply.js';
import type { Directory } from '../../platform/ldap.js';
import type { StateStore } from '../../store/state.js';
import { PolicyError } from '../../pipeline/policy.js';
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import { baseAddress, entryKey, isPostmaster, keyDomain, lookupAddress, type AddressRules } from './address.js';
import type { RecipientsCheckConfig, RecipientsDomainConfig } from './config.js';
import { LdapSource } from './ldap.js';
import type { RecipientProber } from './ports.js';
import { lookupAll, type Source } from './source.js';
import { StaticSource, type ReadText } from './static.js';
import { ProbeGate, VerifySource } from './verify.js';

export const SYMBOLS: readonly SymbolDef[] = [
  {
    name: 'RCPT_USER_UNKNOWN',
    description: 'Recipient does not exist: every configured source said so',
    score: 0,
    action: 'reject',
    reply: (action) => (action === 'reject' ? userUnknown() : null),
  },
  {
    name: 'RCPT_UNVERIFIED',
    description: 'Recipient could not be verified now (directory or LAN server down or slow); the domain defers',
    score: 0,
    action: 'defer',
    locked: true,
    reply: () => recipientUnverified(),
  },
  {
    name: 'RCPT_UNVERIFIED_ACCEPTED',
    description: 'Recipient could not be verified now; the domain accepts (onUnavailable: accept)',
    score: 0,
    locked: true,
  },
];

export interface RecipientsPorts {
  readonly state: StateStore;
  readonly directory: Directory;
  readonly prober: RecipientProber;
  readonly readText: ReadText;
}

/** What the check needs of the domains config: only their `recipients` slice. */
export type RecipientDomains = Readonly<Record<string, { readonly recipients?: RecipientsDomainConfig | undefined }>>;

interface DomainPlan {
  readonly rules: AddressRules;
  readonly sources: readonly Source[];
  readonly onUnavailable: 'defer' | 'accept';
}

function plan(name: string, domain: string, c: RecipientsDomainConfig, config: RecipientsCheckConfig, ports: RecipientsPorts, gate: ProbeGate): DomainPlan {
  const rules: AddressRules = { caseSensitive: c.caseSensitive, recipientDelimiter: c.recipientDelimiter };
  const sources = c.sources.map((s, i): Source => {
    const label = `${s.type}#${i + 1}`;
    const path = `domains.${name}.recipients.sources[${i}]`;
    switch (s.type) {
      case 'static': {
        const keys = new Set<string>();
        s.addresses.forEach((entry, j) => {
          const key = entryKey(entry, rules);
          if (key === null) throw new PolicyError(`${path}.addresses[${j}]`, 'not an address ("user@domain" or "@domain")');
          if (keyDomain(key) !== domain) throw new PolicyError(`${path}.addresses[${j}]`, `not an address of ${domain}`);
          keys.add(key);
        });
        return new StaticSource(label, domain, keys, s.file, rules, ports.readText);
      }
      case 'ldap':
        return new LdapSource(label, s, ports.directory);
      case 'verify':
        return new VerifySource(label, domain, s.sender, {
          prober: ports.prober,
          state: ports.state,
          gate,
          positiveTtl: config.verify.positiveTtl,
          negativeTtl: config.verify.negativeTtl,
          timeout: config.verify.timeout,
        });
    }
  });
  return { rules, sources, onUnavailable: c.onUnavailable };
}

/** Builds the check without I/O; throws PolicyError (with its config path) for a bad static entry. */
export function recipientsCheck(config: RecipientsCheckConfig, domains: RecipientDomains, ports: RecipientsPorts): Check {
  const gate = new ProbeGate(config.verify.maxConcurrent);
  const plans = new Map<string, DomainPlan>();
  for (const [name, d] of Object.entries(domains)) {
    if (!d.recipients) continue;
    const domain = parseDomain(name) ?? name.toLowerCase();
    plans.set(domain, plan(name, domain, d.recipients, config, ports, gate));
  }
  return {
    name: 'recipients',
    symbols: SYMBOLS,
    open: () => ({
      rcptTo: async (to: Mailbox, _ctx, signal): Promise<Finding[]> => {
        const p = plans.get(to.domain);
        if (!p) return [];
        const address = lookupAddress(to, p.rules);
        if (isPostmaster(address)) return [];
        const answer = await lookupAll(p.sources, address, baseAddress(address, p.rules), signal);
        if (answer.kind === 'found') return [];
        if (answer.kind === 'unknown') return [{ symbol: 'RCPT_USER_UNKNOWN', detail: answer.detail }];
        return [{ symbol: p.onUnavailable === 'defer' ? 'RCPT_UNVERIFIED' : 'RCPT_UNVERIFIED_ACCEPTED', detail: answer.detail, transient: true }];
      },
    }),
  };
}
