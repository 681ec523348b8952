/**
 * Client addresses as the connection checks compare them (dnsbl, rdns, helo): one canonical text
 * per address, so "::ffff:192.0.2.1" (an IPv4 client seen through a dual-stack socket) is 192.0.2.1
 * and "0:0::1" is "::1" (RFC 5952 form, via the WHATWG URL serializer).
 * Written without node:net (checks know no sockets): IPv4 by its grammar, IPv6 by the URL parser
 * after a character check, so "::1]:80/x[" can never pass as an address.
 * Trusts: the WHATWG URL parser. Fails: null / 0 for anything that is not an IP address.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** 4, 6, or 0 when the text is not an IP address (no zone id, no brackets). */
export function ipFamily(ip: string): 0 | 4 | 6 {
  if (IPV4.test(ip)) return 4;
  if (!ip.includes(':') || !/^[0-9a-fA-F:.]+$/.test(ip)) return 0;
  try {
    new URL(`http://[${ip}]/`);
    return 6;
  } catch {
    return 0;
  }
}

/** The canonical form of an IP address, IPv4-mapped IPv6 as IPv4; null if not an address. */
export function plainIp(ip: string): string | null {
  const bare = ip.replace(/%.*$/, '');
  const family = ipFamily(bare);
  if (family === 4) return bare.split('.').map(Number).join('.');
  if (family !== 6) return null;
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped === null) return canonical;
  const hi = Number.parseInt(mapped[1] ?? '0', 16);
  const lo = Number.parseInt(mapped[2] ?? '0', 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Whether two texts name the same address (false when either is not an address). */
export function sameIp(a: string, b: string): boolean {
  const x = plainIp(a);
  return x !== null && x === plainIp(b);
}
