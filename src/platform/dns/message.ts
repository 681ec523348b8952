/**
 * DNS messages (RFC 1035 §4) for the stub client: the query we send (RD=1, EDNS0 OPT per RFC 6891;
 * with `dnssec`, AD=1 (RFC 6840 §5.7) and the OPT's DO bit (RFC 3225) so that a validating resolver
 * tells us what it validated), the AD bit of a reply,
 * the checks a reply must pass before we believe it (RFC 5452 §9: id, question name
 * case-insensitively, type and class), and what a believed reply means: records at the end of the
 * CNAME chain (RFC 1034 §3.6.2), NXDOMAIN vs NODATA with the RFC 2308 §5 negative TTL, or an RCODE.
 * Wire encoding/decoding is dns-packet's.
 * Trusts: dns-packet to bound-check what it decodes (it throws on overruns, bad pointers, names
 * over 254 octets). Fails: a reply that does not match the query is 'mismatch' (drop it and keep
 * waiting); one that matches but cannot be decoded is 'malformed'.
 */
import * as packet from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { DnsErrorCode, MxRecord, RecordOf, RecordType, SoaRecord } from './types.js';

export interface Query {
  readonly id: number;
  /** Normalized (names.ts). */
  readonly name: string;
  readonly type: RecordType;
  /** EDNS0 UDP payload size we advertise; 0 sends no OPT record (classic 512-octet limit). */
  readonly udpSize: number;
  /** Ask for DNSSEC status: AD in the header, DO in the OPT record (when there is one). */
  readonly dnssec?: boolean;
}

export function encodeQuery(q: Query): Buffer {
  return packet.encode({
    type: 'query',
    id: q.id,
    flags: packet.RECURSION_DESIRED | (q.dnssec === true ? packet.AUTHENTIC_DATA : 0),
    questions: [{ type: q.type, name: q.name, class: 'IN' }],
    additionals:
      q.udpSize > 0
        ? [{ type: 'OPT', name: '.', udpPayloadSize: q.udpSize, extendedRcode: 0, ednsVersion: 0, flags: q.dnssec === true ? packet.DNSSEC_OK : 0, flag_do: q.dnssec === true, options: [] }]
        : [],
  });
}

export interface Reply {
  readonly rcode: number;
  readonly truncated: boolean;
  /** The server understood EDNS (an OPT record came back). */
  readonly edns: boolean;
  /** AD: the server says it validated every RRset of the answer and authority (RFC 4035 §3.2.3). */
  readonly ad: boolean;
  /** null only for a truncated reply that could not be decoded (we go to TCP anyway). */
  readonly message: DecodedPacket | null;
}

export type ReplyCheck = Reply | 'mismatch' | 'malformed';

const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const TC = 0x0200;
const RA = 0x0080;
const AA = 0x0400;
const AD = 0x0020;

/** Offset after a (possibly compressed) name, or null if it runs off the message. */
function skipName(buf: Buffer, at: number): number | null {
  let off = at;
  for (let labels = 0; labels < 128; labels++) {
    const len = buf[off];
    if (len === undefined) return null;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : null;
    if ((len & 0xc0) !== 0) return null;
    off += 1 + len;
  }
  return null;
}

/**
 * Walks the message by its own counts and length fields (RFC 1035 §4.1): the offset where its
 * last record ends, or null when a section runs off the end or an A/AAAA RDATA is not 4/16 octets.
 */
function framedEnd(buf: Buffer): number | null {
  let off: number | null = 12;
  for (let i = 0; i < buf.readUInt16BE(4) && off !== null; i++) {
    off = skipName(buf, off);
    off = off === null || off + 4 > buf.length ? null : off + 4;
  }
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  for (let i = 0; i < records && off !== null; i++) {
    off = skipName(buf, off);
    if (off === null || off + 10 > buf.length) return null;
    const type = buf.readUInt16BE(off);
    const rdlength = buf.readUInt16BE(off + 8);
    if ((type === 1 && rdlength !== 4) || (type === 28 && rdlength !== 16)) return null;
    off += 10 + rdlength;
    if (off > buf.length) return null;
  }
  return off;
}

/** Checks a datagram (or TCP message) against the query it should answer. */
export function checkReply(buf: Buffer, q: Query): ReplyCheck {
  if (buf.length < 12 || buf.readUInt16BE(0) !== q.id) return 'mismatch';
  const flags = buf.readUInt16BE(2);
  if ((flags & QR) === 0 || (flags & OPCODE_MASK) !== 0) return 'mismatch';
  let message: DecodedPacket | null = null;
  const end = framedEnd(buf);
  try {
    if (end !== null) message = packet.decode(buf);
  } catch {
    message = null;
  }
  // dns-packet reads records by their type, not by RDLENGTH: a message whose records do not end
  // where their own length fields say was decoded from the wrong octets.
  if (message === null || packet.decode.bytes !== end) {
    // A truncated datagram may be cut mid-record; TCP will bring (and check) the whole answer.
    return (flags & TC) !== 0 ? { rcode: flags & 0x000f, truncated: true, edns: false, ad: false, message: null } : 'malformed';
  }
  const questions = message.questions ?? [];
  let rcode = flags & 0x000f;
  const opt = (message.additionals ?? []).find((a) => a.type === 'OPT');
  if (opt !== undefined && 'extendedRcode' in opt) rcode |= opt.extendedRcode << 4;
  if (questions.length === 0) {
    // Some servers drop the question from error replies (FORMERR to an OPT they dislike); accept
    // those only as errors: a positive answer must show what it answers.
    return rcode === 0 ? 'mismatch' : { rcode, truncated: (flags & TC) !== 0, edns: opt !== undefined, ad: false, message };
  }
  const qq = questions[0];
  if (questions.length !== 1 || qq === undefined || qq.type !== q.type || (qq.class ?? 'IN') !== 'IN') return 'mismatch';
  if (stripDot(qq.name).toLowerCase() !== q.name) return 'mismatch';
  return { rcode, truncated: (flags & TC) !== 0, edns: opt !== undefined, ad: (flags & AD) !== 0, message };
}

/** What a reply means, before the cache clamps TTLs. `ttl: null` on 'none': no SOA to take it from. */
export type Meaning<R> =
  | { readonly kind: 'ok'; readonly records: R[]; readonly ttl: number; readonly secure?: true }
  | { readonly kind: 'none'; readonly reason: 'nxdomain' | 'nodata'; readonly ttl: number | null; readonly secure?: true }
  | { readonly kind: 'error'; readonly code: DnsErrorCode };

const RCODES: Readonly<Record<number, DnsErrorCode>> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };

/** Longest CNAME chain we follow inside one answer (resolvers stop near 8-16 too). */
const MAX_CHAIN = 16;

function stripDot(n: string): string {
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function canonical(n: string): string {
  return n === '.' ? '' : stripDot(n).toLowerCase();
}

function ttlOf(a: Answer): number {
  return 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
}

function inClass(a: Answer): boolean {
  return !('class' in a) || a.class === undefined || a.class === 'IN';
}

/** One record's data in our shape, or null when dns-packet gave something unexpected. */
function convert<T extends RecordType>(type: T, a: Answer): RecordOf<T> | null {
  if (!('data' in a)) return null;
  const d: unknown = a.data;
  let out: unknown = null;
  switch (type) {
    case 'A':
    case 'AAAA':
      out = typeof d === 'string' ? d : null;
      break;
    case 'PTR':
    case 'NS':
    case 'CNAME':
      out = typeof d === 'string' ? canonical(d) : null;
      break;
    case 'TXT':
      out = Array.isArray(d) ? Object.freeze(d.map((s: unknown) => (Buffer.isBuffer(s) ? s.toString('utf8') : String(s)))) : null;
      break;
    case 'MX': {
      const m = d as { exchange?: unknown; preference?: unknown };
      const mx: MxRecord = { exchange: canonical(String(m.exchange)), priority: Number(m.preference ?? 0) };
      out = typeof m.exchange === 'string' ? Object.freeze(mx) : null;
      break;
    }
    case 'SOA': {
      const s = d as Record<string, unknown>;
      const soa: SoaRecord = {
        mname: canonical(String(s.mname)),
        rname: canonical(String(s.rname)),
        serial: Number(s.serial),
        refresh: Number(s.refresh),
        retry: Number(s.retry),
        expire: Number(s.expire),
        minimum: Number(s.minimum),
      };
      out = typeof s.mname === 'string' ? Object.freeze(soa) : null;
      break;
    }
    case 'TLSA': {
      const t = d as { usage?: unknown; selector?: unknown; matchingType?: unknown; certificate?: unknown };
      const ok = typeof t.usage === 'number' && typeof t.selector === 'number' && typeof t.matchingType === 'number' && Buffer.isBuffer(t.certificate);
      // Copied: dns-packet's buffer is a view of the whole datagram.
      out = ok ? Object.freeze({ usage: t.usage, selector: t.selector, matchingType: t.matchingType, data: Buffer.from(t.certificate as Buffer) }) : null;
      break;
    }
  }
  return out as RecordOf<T> | null;
}

/** RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM) of the authority's SOA. */
export function negativeTtl(message: DecodedPacket): number | null {
  for (const a of message.authorities ?? []) {
    if (a.type === 'SOA' && inClass(a)) {
      const min = Number((a.data as { minimum?: unknown }).minimum);
      return Math.min(ttlOf(a), Number.isFinite(min) ? min : 0);
    }
  }
  return null;
}

/** Reads a believed, non-truncated reply to `q`. */
export function interpret<T extends RecordType>(reply: Reply, q: Pick<Query, 'name' | 'type'>): Meaning<RecordOf<T>> {
  const m = reply.message;
  if (m === null) return { kind: 'error', code: 'BADRESPONSE' };
  if (reply.rcode !== 0 && reply.rcode !== 3) return { kind: 'error', code: RCODES[reply.rcode] ?? 'BADRESPONSE' };
  const answers = m.answers ?? [];
  let current = q.name;
  let ttl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    const records: RecordOf<T>[] = [];
    let rrTtl = Number.POSITIVE_INFINITY;
    for (const a of answers) {
      if (a.type !== q.type || !inClass(a) || canonical(a.name) !== current) continue;
      const r = convert(q.type as T, a);
      if (r === null) return { kind: 'error', code: 'BADRESPONSE' };
      records.push(r);
      rrTtl = Math.min(rrTtl, ttlOf(a));
    }
    if (records.length > 0) return { kind: 'ok', records: Object.freeze(records) as RecordOf<T>[], ttl: Math.min(ttl, rrTtl) };
    if (q.type === 'CNAME') break;
    const cname = answers.find((a) => a.type === 'CNAME' && inClass(a) && canonical(a.name) === current);
    const target = cname !== undefined && 'data' in cname ? cname.data : undefined;
    if (cname === undefined || typeof target !== 'string') break;
    ttl = Math.min(ttl, ttlOf(cname));
    current = canonical(target);
  }
  // RFC 6604 §3: the RCODE speaks of the last name of the chain; a CNAME's TTL bounds the negative one.
  const soaTtl = negativeTtl(m);
  const negTtl = soaTtl === null ? null : Math.min(soaTtl, ttl);
  if (reply.rcode === 3) return { kind: 'none', reason: 'nxdomain', ttl: negTtl };
  const flags = m.flags ?? 0;
  // A referral (no answer, NS in authority, neither authoritative nor recursive) means the server
  // did not recurse for us: it says nothing about the name.
  if (answers.length === 0 && (flags & (AA | RA)) === 0 && (m.authorities ?? []).some((a) => a.type === 'NS')) {
    return { kind: 'error', code: 'BADRESPONSE' };
  }
  return { kind: 'none', reason: 'nodata', ttl: negTtl };
}
