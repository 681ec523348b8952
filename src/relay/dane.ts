/**
 * DANE for SMTP (RFC 7672): whether one MX host must be reached over TLS authenticated by TLSA
 * records, decided from what our resolver marks `secure` (dns.dnssec: trusted; we never validate
 * ourselves). The steps, per host:
 * - §2.2.1: the MX RRset (or, for an implicit MX, the denial of MX records) must be secure, else
 *   DANE does not apply to any host of the domain;
 * - §2.2.2: the host's address records must be secure, else no TLSA lookup for that host;
 * - §2.2.3: TLSA at `_<port>._tcp.<MX host>` (a CNAME of the TLSA name is followed inside the
 *   answer; the "expanded MX name first" step is not done: the resolver does not expose it);
 * - §2.1.1: secure TLSA with usable records (§3.1.3) → STARTTLS mandatory and the chain must match
 *   (`dane`); secure TLSA with only unusable records → STARTTLS mandatory, unauthenticated
 *   (`unusable`); secure denial or insecure answer → no DANE (`none`, `insecure`: opportunistic or
 *   MTA-STS as before); a failed lookup (SERVFAIL: bogus or indeterminate) → this host must not be
 *   used at all, as a downgrade cannot be told from an attack (`failed`).
 * DANE takes precedence over MTA-STS for the hosts it applies to (RFC 8461 §2).
 * Trusts: the resolver's `secure` marks. Fails: never throws; every outcome is a state with a detail.
 */
import type { DnsAnswer, Resolver } from '../platform/dns/index.js';
import { usableTlsa, type DaneExpectation } from '../smtp/client/index.js';

export type DaneState = 'dane' | 'unusable' | 'none' | 'insecure' | 'failed';

export interface DaneHost {
  readonly state: DaneState;
  /** For the logs: what was found (or why DANE does not apply). */
  readonly detail: string;
  /** state 'dane': what the certificate chain must match. */
  readonly expect?: DaneExpectation;
}

/** The TLSA owner name of an SMTP server (RFC 6698 §3, RFC 7672 §2.2.3). */
export function tlsaName(host: string, port: number): string {
  return `_${port}._tcp.${host.replace(/\.$/, '')}`;
}

/**
 * Whether DANE can apply to the domain at all (§2.2.1): its MX answer was secure, or there was a
 * secure denial of MX records (implicit MX, the domain itself as host).
 */
export function mxAllowsDane(mx: DnsAnswer<unknown>): boolean {
  return mx.kind !== 'error' && mx.secure === true;
}

/** The DANE decision for one MX host whose addresses gave `addresses`. */
export async function daneForHost(resolver: Resolver, host: string, port: number, addresses: DnsAnswer<string>): Promise<DaneHost> {
  if (addresses.kind !== 'ok') return { state: 'insecure', detail: `no addresses for ${host}` };
  if (addresses.secure !== true) return { state: 'insecure', detail: `address records of ${host} are not signed (RFC 7672 §2.2.2)` };
  const name = tlsaName(host, port);
  const tlsa = await resolver.lookup(name, 'TLSA');
  if (tlsa.kind === 'error') return { state: 'failed', detail: `TLSA lookup ${name} failed (${tlsa.code}): not used without DANE (RFC 7672 §2.1.1)` };
  if (tlsa.secure !== true) return { state: 'insecure', detail: `TLSA answer for ${name} is not signed` };
  if (tlsa.kind === 'none') return { state: 'none', detail: `no TLSA record at ${name} (secure ${tlsa.reason})` };
  const usable = usableTlsa(tlsa.records);
  if (usable.length === 0) return { state: 'unusable', detail: `only unusable TLSA records at ${name} (RFC 7672 §3.1.3): TLS without authentication` };
  return {
    state: 'dane',
    detail: `${usable.length} usable TLSA record(s) at ${name}`,
    // §3.2.2: the reference identifiers are the MX host name and the TLSA base domain (here the same name).
    expect: Object.freeze({ records: Object.freeze(usable), names: Object.freeze([host.replace(/\.$/, '')]) }),
  };
}

/** A key for connection pooling: connections under different TLSA sets are not shared. */
export function daneKey(e: DaneExpectation | undefined): string {
  if (e === undefined) return '';
  return `${e.names.join(',')}:${e.records.map((r) => `${r.usage}${r.selector}${r.matchingType}${r.data.toString('hex')}`).join(',')}`;
}
