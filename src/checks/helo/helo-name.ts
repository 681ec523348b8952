/**
 * What a HELO/EHLO argument is (RFC 5321 §4.1.1.1: a Domain or an address-literal, §4.1.3): an
 * address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), a bare IP address (not allowed without
 * brackets), a domain (fully qualified or a single label), or nothing valid at all.
 * Trusts: the strict domain parser of src/smtp/address.ts. Fails: never; anything else is 'invalid'.
 */
import { parseDomain, type Domain } from '../../smtp/address.js';
import { ipFamily } from '../client-ip.js';

export type HeloName =
  | { readonly kind: 'literal'; readonly ip: string }
  | { readonly kind: 'bare-ip'; readonly ip: string }
  | { readonly kind: 'domain'; readonly domain: Domain; readonly fqdn: boolean }
  | { readonly kind: 'invalid' };

export function classifyHelo(name: string): HeloName {
  if (ipFamily(name) !== 0) return { kind: 'bare-ip', ip: name };
  const d = parseDomain(name);
  if (d === null) return { kind: 'invalid' };
  if (d.startsWith('[')) {
    const inner = d.slice(1, -1);
    return { kind: 'literal', ip: inner.startsWith('ipv6:') ? inner.slice(5) : inner };
  }
  return { kind: 'domain', domain: d, fqdn: d.includes('.') };
}
