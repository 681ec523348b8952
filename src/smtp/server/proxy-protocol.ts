/**
 * The PROXY protocol header, versions 1 and 2 (HAProxy's proxy-protocol.txt, §2.1 and §2.2), read
 * before the greeting on listeners that sit behind a load balancer. It tells the real client's
 * address and port. Only the caller decides whom to believe: this is read only on connections from a
 * trusted proxy. Trusts nothing in the octets: a header that does not match the spec exactly is
 * invalid (§2.1: "must be discarded and cause the receiver to abort the connection"); a v1 line is
 * bounded by 107 octets with CRLF and a v2 header by 536 (the smallest TCP segment every host must
 * accept, §2, which senders must fit the header into); v2 TLVs are skipped. Octets that follow the
 * header stay in the input for the SMTP session. Fails by returning `invalid` with a reason, or by
 * rejecting with the signal's reason when the deadline passes.
 */
import { isIPv6 } from 'node:net';
import { formatIpv6 } from './ip.js';
import type { Input } from './input.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeader =
  /** The connection was relayed for this client. */
  | { readonly kind: 'proxied'; readonly version: 1 | 2; readonly source: Endpoint; readonly destination: Endpoint }
  /** v2 LOCAL (the proxy's own health check), v1 UNKNOWN, or an address family we do not take: use the socket's. */
  | { readonly kind: 'local'; readonly version: 1 | 2 }
  | { readonly kind: 'invalid'; readonly reason: ProxyHeaderProblem };

export type ProxyHeaderProblem = 'malformed' | 'too-long' | 'closed';

/** §2.1: the worst case "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n" is 107 octets. */
export const V1_MAX_LINE = 107;
/** §2: both formats fit in 536 octets. */
export const V2_MAX_HEADER = 536;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_CANONICAL = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** §2.1: decimal, no leading zeros. */
const PORT = /^(?:0|[1-9]\d{0,4})$/;

function port(text: string): number | null {
  if (!PORT.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** Parses one v1 line (without its CRLF). */
export function parseV1(line: string): ProxyHeader {
  const bad: ProxyHeader = { kind: 'invalid', reason: 'malformed' };
  // §2.1: for UNKNOWN "the receiver must ignore anything presented before the CRLF".
  if (line === 'PROXY UNKNOWN' || line.startsWith('PROXY UNKNOWN ')) return { kind: 'local', version: 1 };
  const f = line.split(' ');
  if (f.length !== 6 || f[0] !== 'PROXY') return bad;
  const [, proto, src = '', dst = '', sp = '', dp = ''] = f;
  const okAddress = proto === 'TCP4' ? (a: string) => IPV4_CANONICAL.test(a) : proto === 'TCP6' ? (a: string) => isIPv6(a) && !a.includes('%') : null;
  if (!okAddress || !okAddress(src) || !okAddress(dst)) return bad;
  const sport = port(sp);
  const dport = port(dp);
  if (sport === null || dport === null) return bad;
  return { kind: 'proxied', version: 1, source: { address: src, port: sport }, destination: { address: dst, port: dport } };
}

/** Parses a whole v2 header (16 octets plus its announced length). */
export function parseV2(h: Buffer): ProxyHeader {
  const bad: ProxyHeader = { kind: 'invalid', reason: 'malformed' };
  if (h.length < 16 || !h.subarray(0, 12).equals(V2_SIGNATURE)) return bad;
  const verCmd = h[12] ?? 0;
  const fam = h[13] ?? 0;
  const len = h.readUInt16BE(14);
  if (h.length !== 16 + len) return bad;
  // §2.2: the version nibble must be 2; commands other than LOCAL (0) and PROXY (1) are dropped.
  if (verCmd >> 4 !== 2) return bad;
  const cmd = verCmd & 0x0f;
  if (cmd === 0x0) return { kind: 'local', version: 2 };
  if (cmd !== 0x1) return bad;
  const a = h.subarray(16);
  switch (fam) {
    case 0x11: // TCP over IPv4: 4 + 4 + 2 + 2
      if (a.length < 12) return bad;
      return {
        kind: 'proxied',
        version: 2,
        source: { address: [...a.subarray(0, 4)].join('.'), port: a.readUInt16BE(8) },
        destination: { address: [...a.subarray(4, 8)].join('.'), port: a.readUInt16BE(10) },
      };
    case 0x21: // TCP over IPv6: 16 + 16 + 2 + 2
      if (a.length < 36) return bad;
      return {
        kind: 'proxied',
        version: 2,
        source: { address: formatIpv6(a.subarray(0, 16)), port: a.readUInt16BE(32) },
        destination: { address: formatIpv6(a.subarray(16, 32)), port: a.readUInt16BE(34) },
      };
    // §2.2: UNSPEC, and families a receiver does not implement, fall back to the real endpoints.
    case 0x00:
    case 0x31:
    case 0x32:
      return { kind: 'local', version: 2 };
    default:
      // UDP, or an unassigned value: "must be rejected as invalid by receivers".
      return bad;
  }
}

/** Reads and parses the header at the start of the connection. */
export async function readProxyHeader(input: Input, signal: AbortSignal): Promise<ProxyHeader> {
  await input.waitReadable(signal);
  const first = input.peekOctet();
  if (first === undefined) return { kind: 'invalid', reason: 'closed' };
  if (first === 0x50 /* "P" */) {
    const r = await input.readLine(V1_MAX_LINE, signal);
    if (r.kind === 'eof') return { kind: 'invalid', reason: 'closed' };
    if (r.kind === 'too-long') return { kind: 'invalid', reason: 'too-long' };
    if (r.kind === 'bare-newline') return { kind: 'invalid', reason: 'malformed' };
    return parseV1(r.line.toString('latin1'));
  }
  if (first !== 0x0d) return { kind: 'invalid', reason: 'malformed' };
  const fixed = await input.readExact(16, signal);
  if (!fixed) return { kind: 'invalid', reason: 'closed' };
  if (!fixed.subarray(0, 12).equals(V2_SIGNATURE)) return { kind: 'invalid', reason: 'malformed' };
  const len = fixed.readUInt16BE(14);
  if (16 + len > V2_MAX_HEADER) return { kind: 'invalid', reason: 'too-long' };
  const rest = await input.readExact(len, signal);
  if (!rest) return { kind: 'invalid', reason: 'closed' };
  return parseV2(Buffer.concat([fixed, rest]));
}
