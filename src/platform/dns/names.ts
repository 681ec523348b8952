/**
 * DNS names as the resolver sends them: validated, lower-cased, no trailing dot; and the reverse
 * names of IP addresses (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa nibbles).
 * Trusts: nothing; callers pass A-labels (IDNA is the caller's job). Fails: null for anything that
 * is not a valid name or IP, so nothing invalid ever reaches the wire.
 */
import { isIP } from 'node:net';

/** Printable ASCII except the dot: labels may hold '_' (RFC 8552) and SPF macro output, not spaces. */
const LABEL_CHARS = /^[\x21-\x2d\x2f-\x7e]+$/;

/**
 * The name in canonical form (lower-case, no trailing dot), or null when it is not a valid DNS name:
 * empty labels, a label over 63 octets or a name over 253 (RFC 1035 §2.3.4, §3.1), non-ASCII or
 * control characters.
 */
export function normalizeName(name: string): string | null {
  const n = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  if (n.length === 0 || n.length > 253 || !LABEL_CHARS.test(n.replaceAll('.', '-'))) return null;
  let start = 0;
  for (;;) {
    const dot = n.indexOf('.', start);
    const end = dot === -1 ? n.length : dot;
    if (end === start || end - start > 63) return null;
    if (dot === -1) return n;
    start = dot + 1;
  }
}

/** The 8 groups of an IPv6 address (already checked by isIP) as numbers. Handles '::' and an IPv4 tail. */
function ipv6Groups(ip: string): number[] | null {
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const v4 = text.slice(lastColon + 1);
  if (v4.includes('.')) {
    // "::ffff:1.2.3.4" -> "::ffff:102:304"
    const o = v4.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** The name to ask PTR for: 10.0.0.127.in-addr.arpa, or 32 nibbles under ip6.arpa; null if not an IP. */
export function reverseName(ip: string): string | null {
  const family = isIP(ip);
  if (family === 4) return `${ip.split('.').reverse().map(Number).join('.')}.in-addr.arpa`;
  if (family !== 6) return null;
  const groups = ipv6Groups(ip.replace(/%.*$/, ''));
  if (groups === null) return null;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket: its PTR lives in in-addr.arpa.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${lo & 0xff}.${lo >> 8}.${hi & 0xff}.${hi >> 8}.in-addr.arpa`;
  }
  const nibbles: string[] = [];
  for (let i = 7; i >= 0; i--) {
    const g = groups[i] ?? 0;
    for (let s = 0; s < 16; s += 4) nibbles.push(((g >> s) & 0xf).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}
