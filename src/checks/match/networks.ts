/**
 * Client address lists and networks for the envelope checks. Config entries are IPv4 or IPv6
 * addresses or CIDR ranges ("192.0.2.0/24", "2001:db8::/32"); an IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1, what a dual-stack listener reports for an IPv4 client, RFC 4291 §2.5.5.2) is
 * the IPv4 address it maps, in lists and for clients alike, so one entry covers both forms.
 * Trusts: ipaddr.js to parse addresses; IPv4 entries must be four-part decimal (no "127.1", no hex).
 * Fails: a bad config entry is a schema error with its path; a client address that does not parse
 * matches no list and is its own network key (the engine only hands over socket addresses).
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A parsed client address: IPv4-mapped IPv6 becomes IPv4; null when it is no address. */
export function parseClientAddress(text: string): Address | null {
  if (!ipaddr.isValid(text)) return null;
  const a = ipaddr.process(text);
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).zoneId !== undefined ? null : a;
}

/** One config entry as [network, prefix], or null when it is neither an address nor a range. */
export function parseNetwork(text: string): [Address, number] | null {
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  const bits = slash < 0 ? null : text.slice(slash + 1);
  if (bits !== null && !/^\d{1,3}$/.test(bits)) return null;
  let addr: Address;
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) addr = ipaddr.IPv4.parse(host);
  else if (ipaddr.IPv6.isValid(host) && !host.includes('%')) addr = ipaddr.IPv6.parse(host);
  else return null;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let prefix = bits === null ? max : Number(bits);
  if (prefix > max) return null;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    prefix -= 96;
  }
  return [addr, prefix];
}

/** A compiled list of networks; `contains` is a linear scan (lists are short: tens of entries). */
export class NetworkList {
  private readonly v4: [ipaddr.IPv4, number][] = [];
  private readonly v6: [ipaddr.IPv6, number][] = [];

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const n = parseNetwork(e);
      if (!n) throw new Error(`not an address or network: ${e}`);
      if (n[0].kind() === 'ipv4') this.v4.push(n as [ipaddr.IPv4, number]);
      else this.v6.push(n as [ipaddr.IPv6, number]);
    }
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  contains(client: string): boolean {
    const a = parseClientAddress(client);
    if (!a) return false;
    if (a.kind() === 'ipv4') return this.v4.some((n) => (a as ipaddr.IPv4).match(n));
    return this.v6.some((n) => (a as ipaddr.IPv6).match(n));
  }
}

/**
 * The network a client counts as, e.g. "192.0.2.0/24" or "2001:db8:1:2::/64" — the unit for
 * greylisting and rate limits, since a sender's pool of outbound hosts shares a network.
 */
export function clientNetwork(client: string, prefix: { readonly ipv4: number; readonly ipv6: number }): string {
  const a = parseClientAddress(client);
  if (!a) return client;
  if (a.kind() === 'ipv4') return `${ipaddr.IPv4.networkAddressFromCIDR(`${a.toString()}/${prefix.ipv4}`).toString()}/${prefix.ipv4}`;
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${a.toString()}/${prefix.ipv6}`).toString()}/${prefix.ipv6}`;
}

/** A config list of addresses and networks, validated entry by entry. */
export const networkList = (description: string) =>
  z
    .array(
      z.string().refine((s) => parseNetwork(s) !== null, {
        message: 'expected an IPv4 or IPv6 address or CIDR range, e.g. "192.0.2.0/24" or "2001:db8::/32"',
      }),
    )
    .default([])
    .describe(description);

/** Prefix lengths that make a client's network. */
export const networkPrefix = (description: string, ipv4: number, ipv6: number) =>
  z
    .object({
      ipv4: z.number().int().min(8).max(32).default(ipv4).describe('Prefix length for IPv4 clients'),
      ipv6: z.number().int().min(16).max(128).default(ipv6).describe('Prefix length for IPv6 clients'),
    })
    .strict()
    .prefault({})
    .describe(description);
