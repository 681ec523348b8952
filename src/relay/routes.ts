/**
 * Where a recipient domain's mail goes: our own domains to their LAN servers, in the configured order;
 * any other domain (only DSNs to outside senders, for now) by MX lookup (RFC 5321 §5.1) with A/AAAA
 * fallback, honouring null MX (RFC 7505). Host names are resolved here, through our resolver only.
 */
import type { Resolver } from '../platform/dns/index.js';
import type { DomainConfig } from './config.js';

export interface Hop {
  readonly host: string;
  readonly port: number;
  /** Shown in logs and DSNs as the Remote-MTA. */
  readonly name: string;
}

export interface TlsChoice {
  readonly policy: 'none' | 'opportunistic' | 'required';
  readonly verify: boolean;
  readonly ca?: string | undefined;
  readonly servername?: string | undefined;
}

export type Route =
  | { readonly kind: 'hops'; readonly hops: readonly Hop[]; readonly tls: TlsChoice }
  /** No way to deliver now (DNS failure): retry later. */
  | { readonly kind: 'defer'; readonly reason: string; readonly status: string }
  /** No way to deliver ever (null MX, no such domain): bounce. */
  | { readonly kind: 'fail'; readonly reason: string; readonly status: string };

function hostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return { host: m?.[1] ?? s, port: Number(m?.[2] ?? 25) };
}

/** The LAN servers of one of our domains, in the configured order. */
export function lanHops(own: DomainConfig): Hop[] {
  return own.relay.map((r) => ({ ...hostPort(r), name: r }));
}

export async function routeFor(
  domain: string,
  domains: Readonly<Record<string, DomainConfig>>,
  resolver: Resolver,
  mxPort: number,
): Promise<Route> {
  const own = domains[domain];
  if (own) {
    return { kind: 'hops', hops: lanHops(own), tls: own.tls };
  }
  const opportunistic: TlsChoice = { policy: 'opportunistic', verify: false };
  if (domain.startsWith('[')) {
    const ip = domain.slice(1, -1).replace(/^IPv6:/i, '');
    return { kind: 'hops', hops: [{ host: ip, port: mxPort, name: domain }], tls: opportunistic };
  }
  const mx = await resolver.mx(domain);
  if (mx.kind === 'error') return { kind: 'defer', reason: `MX lookup for ${domain} failed (${mx.code})`, status: '4.4.3' };
  const exchanges = mx.kind === 'ok' ? [...mx.records].sort((a, b) => a.priority - b.priority).map((r) => r.exchange) : [domain];
  // RFC 7505: a single MX with the root as exchange says the domain takes no mail.
  if (mx.kind === 'ok' && exchanges.length === 1 && (exchanges[0] === '' || exchanges[0] === '.')) {
    return { kind: 'fail', reason: `${domain} does not accept mail (null MX)`, status: '5.1.10' };
  }
  const hops: Hop[] = [];
  let lastError: string | null = null;
  for (const name of exchanges) {
    const a = await resolver.addresses(name);
    if (a.kind === 'ok') for (const ip of a.records) hops.push({ host: ip, port: mxPort, name });
    else if (a.kind === 'error') lastError = a.code;
  }
  if (hops.length > 0) return { kind: 'hops', hops, tls: opportunistic };
  if (lastError) return { kind: 'defer', reason: `address lookup failed (${lastError})`, status: '4.4.3' };
  return { kind: 'fail', reason: `no mail server found for ${domain}`, status: '5.1.2' };
}
