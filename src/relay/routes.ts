/**
 * Where a recipient domain's mail goes: our own domains to their LAN servers, in the configured
 * order; a domain with an outbound transport (outbound.transports, "*" for every other) to those
 * hosts; any other domain by MX lookup (RFC 5321 §5.1): MX records in preference order, hosts of
 * equal preference shuffled (§5.1 "randomized"), each host's A then AAAA addresses, the domain's own
 * A/AAAA when it has no MX (implicit MX), null MX honoured (RFC 7505). MTA-STS (RFC 8461, mta-sts.ts)
 * applies to MX delivery: "enforce" keeps only MX hosts that match the policy, each with verified
 * TLS for its own name (no host left: defer); "testing" keeps every host and marks which ones the
 * policy would refuse, for the logs. DANE (RFC 7672, dane.ts) is decided per MX host when enabled
 * and takes precedence over MTA-STS for the hosts it applies to (RFC 8461 §2): such a host gets
 * mandatory STARTTLS with its TLSA records to match; a host whose TLSA lookup failed gets no hop at
 * all (never cleartext, RFC 7672 §2.1.1). Host names are resolved here, through our resolver only.
 */
import type { Resolver } from '../platform/dns/index.js';
import type { DaneExpectation } from '../smtp/client/index.js';
import type { DomainConfig } from './config.js';
import { daneForHost, mxAllowsDane, type DaneHost } from './dane.js';
import { mxMatches, type MtaSts, type StsPolicy } from './mta-sts.js';

export interface TlsChoice {
  readonly policy: 'none' | 'opportunistic' | 'required';
  readonly verify: boolean;
  readonly ca?: string | undefined;
  readonly servername?: string | undefined;
  /** Trust the bundled public roots besides `ca` (MTA-STS verification: WebPKI plus a private CA). */
  readonly publicRoots?: boolean | undefined;
  /** DANE: the chain must match these TLSA records (instead of `verify`). */
  readonly dane?: DaneExpectation | undefined;
}

export interface Hop {
  readonly host: string;
  readonly port: number;
  /** Shown in logs and DSNs as the Remote-MTA (the MX host name for MX delivery). */
  readonly name: string;
  /** TLS toward this hop when it differs from the route's (MTA-STS: verified for the MX name). */
  readonly tls?: TlsChoice;
  /** MTA-STS testing mode: this hop would be refused in enforce mode (why, for the logs). */
  readonly stsViolation?: string;
  /** The DANE decision for this MX host, when DANE was looked at. */
  readonly dane?: DaneHost;
}

export type Route =
  | {
      readonly kind: 'hops';
      readonly hops: readonly Hop[];
      readonly tls: TlsChoice;
      /** MX delivery: a temporary failure of every recipient on one host moves on to the next (RFC 5321 §5.1). */
      readonly mx: boolean;
      /** The MTA-STS policy applied, if any. */
      readonly sts?: StsPolicy;
      /** Some MX host wants DANE (hop with TLSA records, or left out after a failed TLSA lookup). */
      readonly dane?: boolean;
    }
  /** No way to deliver now (DNS failure, MTA-STS refuses every MX): retry later. */
  | { readonly kind: 'defer'; readonly reason: string; readonly status: string }
  /** No way to deliver ever (null MX, no such domain): bounce. */
  | { readonly kind: 'fail'; readonly reason: string; readonly status: string };

export interface TransportRoute {
  readonly relay: readonly string[];
  readonly tls: TlsChoice;
}

export interface RouteOptions {
  /** Port of MX hosts (25; tests point it at loopback sinks). */
  readonly mxPort: number;
  /** Transport for a non-local domain, or null for MX delivery. */
  readonly transport?: (domain: string) => TransportRoute | null;
  readonly mtaSts?: MtaSts | null;
  /** Extra trust anchors for verified MX TLS (a file). */
  readonly ca?: string | undefined;
  /** Shuffles hosts of equal preference; default Math.random (tests pass their own). */
  readonly random?: () => number;
  /** Apply DANE (outbound.dane.enabled with dns.dnssec: trusted). */
  readonly dane?: boolean;
  /** Each DANE decision, for the logs. */
  readonly onDane?: (mx: string, decision: DaneHost) => void;
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return { host: m?.[1] ?? s, port: Number(m?.[2] ?? 25) };
}

/** The LAN servers of one of our domains, in the configured order. */
export function lanHops(own: DomainConfig): Hop[] {
  return own.relay.map((r) => ({ ...hostPort(r), name: r }));
}

const OPPORTUNISTIC: TlsChoice = { policy: 'opportunistic', verify: false };

/** MX exchanges by preference, equal preferences shuffled (Fisher-Yates). */
export function orderExchanges(records: readonly { exchange: string; priority: number }[], random: () => number = Math.random): string[] {
  const byPref = new Map<number, string[]>();
  for (const r of records) byPref.set(r.priority, [...(byPref.get(r.priority) ?? []), r.exchange]);
  return [...byPref.keys()]
    .sort((a, b) => a - b)
    .flatMap((p) => {
      const group = [...(byPref.get(p) as string[])];
      for (let i = group.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [group[i], group[j]] = [group[j] as string, group[i] as string];
      }
      return group;
    });
}

export async function routeFor(domain: string, domains: Readonly<Record<string, DomainConfig>>, resolver: Resolver, o: RouteOptions): Promise<Route> {
  const own = domains[domain];
  if (own) return { kind: 'hops', hops: lanHops(own), tls: own.tls, mx: false };
  const transport = o.transport?.(domain) ?? null;
  if (transport) return { kind: 'hops', hops: transport.relay.map((r) => ({ ...hostPort(r), name: r })), tls: transport.tls, mx: false };
  if (domain.startsWith('[')) {
    const ip = domain.slice(1, -1).replace(/^IPv6:/i, '');
    return { kind: 'hops', hops: [{ host: ip, port: o.mxPort, name: domain }], tls: OPPORTUNISTIC, mx: true };
  }
  const mx = await resolver.mx(domain);
  if (mx.kind === 'error') return { kind: 'defer', reason: `MX lookup for ${domain} failed (${mx.code})`, status: '4.4.3' };
  // RFC 7505: a single MX with the root as exchange says the domain takes no mail.
  if (mx.kind === 'ok' && mx.records.length === 1 && (mx.records[0]?.exchange === '' || mx.records[0]?.exchange === '.')) {
    return { kind: 'fail', reason: `${domain} does not accept mail (null MX)`, status: '5.1.10' };
  }
  const exchanges = mx.kind === 'ok' ? orderExchanges(mx.records.filter((r) => r.exchange !== '' && r.exchange !== '.'), o.random) : [domain];
  const sts = o.mtaSts ? await o.mtaSts.policyFor(domain) : null;
  const policy = sts?.kind === 'policy' && sts.policy.mode !== 'none' ? sts.policy : null;
  // RFC 7672 §2.2.1: DANE only below a secure MX RRset (or a secure denial of one: implicit MX).
  const daneApplies = o.dane === true && mxAllowsDane(mx);
  const hops: Hop[] = [];
  let lastError: string | null = null;
  let refused = 0;
  let daneFailed = 0;
  for (const name of exchanges) {
    const matches = policy === null || mxMatches(name, policy.mx);
    if (policy?.mode === 'enforce' && !matches && !daneApplies) {
      refused++;
      continue;
    }
    const a = await resolver.addresses(name);
    if (a.kind === 'error') lastError = a.code;
    if (a.kind !== 'ok') continue;
    const dane = daneApplies ? await daneForHost(resolver, name, o.mxPort, a) : null;
    if (dane) o.onDane?.(name, dane);
    if (dane?.state === 'failed') {
      daneFailed++;
      continue;
    }
    // §2.2: TLSA records present (usable or not) make STARTTLS mandatory; usable ones must match.
    const daneTls: TlsChoice | null =
      dane?.state === 'dane' || dane?.state === 'unusable' ? { policy: 'required', verify: false, servername: name, ...(dane.expect ? { dane: dane.expect } : {}) } : null;
    if (daneTls === null && policy?.mode === 'enforce' && !matches) {
      refused++;
      continue;
    }
    for (const ip of a.records) {
      if (daneTls !== null && dane !== null) {
        hops.push({ host: ip, port: o.mxPort, name, tls: daneTls, dane });
      } else if (policy?.mode === 'enforce') {
        // RFC 8461 §4.2: a valid certificate for the MX host's own name, or no delivery to it.
        hops.push({ host: ip, port: o.mxPort, name, tls: { policy: 'required', verify: true, servername: name, ca: o.ca, publicRoots: true } });
      } else {
        hops.push({ host: ip, port: o.mxPort, name, ...(policy && !matches ? { stsViolation: `MX ${name} is not in the MTA-STS policy of ${domain}` } : {}) });
      }
    }
  }
  const daneWanted = daneFailed > 0 || hops.some((h) => h.tls?.policy === 'required' && h.dane !== undefined);
  if (hops.length > 0) return { kind: 'hops', hops, tls: OPPORTUNISTIC, mx: true, ...(policy ? { sts: policy } : {}), ...(daneWanted ? { dane: true } : {}) };
  if (daneFailed > 0) return { kind: 'defer', reason: `the TLSA lookup failed for every usable MX host of ${domain} (RFC 7672 §2.1.1)`, status: '4.7.5' };
  if (refused > 0 && refused === exchanges.length) return { kind: 'defer', reason: `no MX host of ${domain} matches its MTA-STS policy (enforce)`, status: '4.7.5' };
  if (lastError) return { kind: 'defer', reason: `address lookup failed (${lastError})`, status: '4.4.3' };
  return { kind: 'fail', reason: `no mail server found for ${domain}`, status: '5.1.2' };
}
