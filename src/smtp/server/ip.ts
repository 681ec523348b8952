/**
 * Client addresses as the edge counts them: one canonical text form per address (IPv4-mapped IPv6
 * "::ffff:1.2.3.4" is the IPv4 address, RFC 4291 §2.5.5.2; IPv6 in the RFC 5952 compressed form),
 * the network a limit groups it in (/24 for IPv4, /64 for IPv6, RFC 4291 §2.5.4: a /64 is one
 * site's subnet, so one host can hold all of it), and CIDR lists for trusted proxies.
 * Trusts nothing: every parser returns null on anything it does not fully understand.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 16 octets of an IPv6 address (with an embedded dotted IPv4 tail), or null. */
export function ipv6Bytes(text: string): Uint8Array | null {
  if (!isIPv6(text)) return null;
  let s = text.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4Bytes(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [...v4];
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = s.split('::');
  const words = (p: string): number[] => (p === '' ? [] : p.split(':').map((w) => parseInt(w, 16)));
  const hi = words(head);
  const lo = rest === undefined ? [] : words(rest);
  const fill = rest === undefined ? 0 : 8 - hi.length - lo.length;
  const all = [...hi, ...new Array<number>(fill).fill(0), ...lo];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) return null;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

export function ipv4Bytes(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

/** RFC 5952 text of 16 octets: lower case, leading zeros dropped, the longest run of ≥2 zero words as "::". */
export function formatIpv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** The one text form of a client address; null when it is not an IP address. */
export function canonicalIp(text: string): string | null {
  if (isIPv4(text)) return text;
  const b = ipv6Bytes(text);
  if (!b) return null;
  return isMapped(b) ? `${b[12]}.${b[13]}.${b[14]}.${b[15]}` : formatIpv6(b);
}

/** The network a per-network limit counts an address in: "a.b.c.0/24" or "x:x:x:x::/64". */
export function networkKey(ip: string): string {
  const v4 = ipv4Bytes(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const b = ipv6Bytes(ip);
  if (!b) return ip;
  const net = new Uint8Array(16);
  net.set(b.subarray(0, 8));
  return `${formatIpv6(net)}/64`;
}

export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** "10.0.0.0/8", "::1/128" or a bare address (a host route); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return null;
  const addr = m[1] as string;
  const v4 = ipv4Bytes(addr);
  const bytes = v4 ?? (isIPv6(addr) && !addr.includes('%') ? ipv6Bytes(addr) : null);
  if (!bytes) return null;
  const family = v4 ? 4 : 6;
  const max = v4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (!(prefix >= 0 && prefix <= max)) return null;
  return { family, bytes, prefix };
}

function inCidr(b: Uint8Array, c: Cidr): boolean {
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (b[i] !== c.bytes[i]) return false;
  const bits = c.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((b[full] ?? 0) & mask) === ((c.bytes[full] ?? 0) & mask);
}

/** Whether an address (any text form; mapped IPv6 counts as IPv4) is inside one of the CIDRs. */
export function matchesAny(ip: string, cidrs: readonly Cidr[]): boolean {
  const canonical = canonicalIp(ip);
  if (!canonical) return false;
  const v4 = ipv4Bytes(canonical);
  const b = v4 ?? ipv6Bytes(canonical);
  if (!b) return false;
  const family = v4 ? 4 : 6;
  return cidrs.some((c) => c.family === family && inCidr(b, c));
}
