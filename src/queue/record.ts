/**
 * The on-disk message record. Self-validating (DESIGN.md §5): a version line, the envelope as JSON
 * with its length, the message octets, and a trailer with the content length and a CRC-32 of envelope
 * and content. A file cut short by a crash or a full disk lacks its trailer or fails the CRC and is
 * never delivered half.
 *
 *   MOAT-SPOOL 1\n
 *   <envelope length>\n<envelope JSON>\n
 *   <message octets>
 *   \nMOAT-END <message length> <7|8> <crc32 hex>\n   (8: the content holds octets above 127)
 */
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC = 'MOAT-SPOOL 1\n';
const TRAILER_RE = /\nMOAT-END (\d+) ([78]) ([0-9a-f]{8})\n$/;
export const MAX_TRAILER = 40;

export interface SpoolRecipient {
  /** The address as received (local part kept as sent). */
  readonly address: string;
  /** Domain of the address, lower-case ASCII: the routing key. */
  readonly domain: string;
  readonly notify: readonly ('SUCCESS' | 'FAILURE' | 'DELAY')[] | null;
  readonly orcpt: { readonly addrType: string; readonly address: string } | null;
}

export interface Envelope {
  readonly v: 1;
  readonly id: string;
  /** ms since the epoch when the first octet of the message was accepted. */
  readonly receivedAt: number;
  /** Envelope sender; '' is the null reverse path. */
  readonly from: string;
  readonly smtputf8: boolean;
  /** BODY= as declared at MAIL; what the content really holds is in the trailer. */
  readonly body: '7BIT' | '8BITMIME' | null;
  readonly ret: 'FULL' | 'HDRS' | null;
  readonly envid: string | null;
  readonly client: { readonly ip: string; readonly helo: string; readonly tls: boolean };
  readonly recipients: readonly SpoolRecipient[];
  /** Set for DSNs we generated, so that a DSN about a DSN is never made. */
  readonly isBounce?: boolean;
}

export function encodeHead(envelope: Envelope): Buffer {
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  return Buffer.concat([Buffer.from(`${RECORD_MAGIC}${json.length}\n`), json, Buffer.from('\n')]);
}

export function encodeTrailer(contentLength: number, eightBit: boolean, crc: number): Buffer {
  return Buffer.from(`\nMOAT-END ${contentLength} ${eightBit ? 8 : 7} ${crc.toString(16).padStart(8, '0')}\n`);
}

/** Running CRC over the parts of a record as they are written. */
export class RecordChecksum {
  private value = 0;
  update(data: Buffer): void {
    // An empty Buffer may have no backing store, and zlib.crc32 then returns 0: skip it.
    if (data.length > 0) this.value = crc32(data, this.value);
  }
  get digest(): number {
    return this.value;
  }
}

export type RecordProblem = 'no-magic' | 'bad-envelope' | 'no-trailer' | 'length-mismatch' | 'checksum-mismatch';

export interface ParsedHead {
  readonly envelope: Envelope;
  /** Offset of the first message octet. */
  readonly contentOffset: number;
}

/** Parses the head of a record from its first octets (enough to cover the envelope). */
export function parseHead(head: Buffer): ParsedHead | RecordProblem {
  if (!head.subarray(0, RECORD_MAGIC.length).equals(Buffer.from(RECORD_MAGIC))) return 'no-magic';
  const nl = head.indexOf(10, RECORD_MAGIC.length);
  if (nl < 0) return 'bad-envelope';
  const length = Number(head.subarray(RECORD_MAGIC.length, nl).toString('latin1'));
  if (!Number.isSafeInteger(length) || length <= 0) return 'bad-envelope';
  const start = nl + 1;
  if (head.length < start + length + 1 || head[start + length] !== 10) return 'bad-envelope';
  try {
    const envelope = JSON.parse(head.subarray(start, start + length).toString('utf8')) as Envelope;
    if (envelope.v !== 1 || typeof envelope.id !== 'string' || !Array.isArray(envelope.recipients)) return 'bad-envelope';
    return { envelope, contentOffset: start + length + 1 };
  } catch {
    return 'bad-envelope';
  }
}

/** Length of the envelope part as encoded in the head's second line, to know how much to read. */
export function headLength(firstOctets: Buffer): number | null {
  const nl = firstOctets.indexOf(10, RECORD_MAGIC.length);
  if (nl < 0) return null;
  const length = Number(firstOctets.subarray(RECORD_MAGIC.length, nl).toString('latin1'));
  return Number.isSafeInteger(length) && length > 0 ? nl + 1 + length + 1 : null;
}

export interface ParsedTrailer {
  readonly contentLength: number;
  readonly eightBit: boolean;
  readonly crc: number;
}

export function parseTrailer(tail: Buffer): ParsedTrailer | null {
  const m = TRAILER_RE.exec(tail.toString('latin1'));
  return m ? { contentLength: Number(m[1]), eightBit: m[2] === '8', crc: parseInt(m[3] as string, 16) } : null;
}
