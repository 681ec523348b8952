/**
 * The on-disk message record. Self-validating (DESIGN.md §5): a version line, the message octets as
 * received, the envelope as JSON, and a trailer with both lengths and a CRC-32 of everything before
 * it. A file cut short by a crash or a full disk lacks its trailer or fails the CRC and is never
 * delivered half.
 *
 *   MOAT-SPOOL 2\n
 *   <message octets>
 *   \n<envelope JSON>\n
 *   MOAT-END <message length> <envelope length> <7|8> <crc32 hex>\n   (8: the content holds octets above 127)
 *
 * The envelope comes after the content because it is only complete at end of data: the verdict and
 * the header lines we add (Received:, Authentication-Results:, X-Moat-*) are known once the message
 * has been scanned, while the content was already streamed to the file as it arrived.
 */
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC = Buffer.from('MOAT-SPOOL 2\n', 'latin1');
const TRAILER_RE = /\nMOAT-END (\d+) (\d+) ([78]) ([0-9a-f]{8})\n$/;
/** Long enough for the trailer at the largest lengths, plus the newline that ends the envelope. */
export const MAX_TRAILER = 64;

export interface SpoolRecipient {
  /** The address as received (local part kept as sent). */
  readonly address: string;
  /** Domain of the address, lower-case ASCII: the routing key. */
  readonly domain: string;
  readonly notify: readonly ('SUCCESS' | 'FAILURE' | 'DELAY')[] | null;
  readonly orcpt: { readonly addrType: string; readonly address: string } | null;
}

/**
 * A change to the stored content applied when it is sent on: `remove` octets at `at` are replaced by
 * `insert`. Used to drop forged Authentication-Results: headers (RFC 8601 §5) and to prefix a tagged
 * Subject:, without rewriting the stored octets. Edits are sorted by `at` and never overlap.
 */
export interface ContentEdit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}

/** What the scan decided, kept for `moat queue show` and `moat explain`. */
export interface VerdictSummary {
  readonly action: 'accept' | 'tag' | 'quarantine';
  readonly score: number;
  readonly symbols: readonly { readonly name: string; readonly score: number }[];
}

export interface Envelope {
  readonly v: 2;
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
  /** Header lines (each ending in CRLF) sent before the stored content: our trace and verdict fields. */
  readonly prepend: string;
  readonly edits: readonly ContentEdit[];
  readonly verdict?: VerdictSummary;
  /** Set for DSNs we generated, so that a DSN about a DSN is never made. */
  readonly isBounce?: boolean;
  /** Set for mail an outbound session sent (src/outbound): the AUTH account, if any. */
  readonly outbound?: { readonly account: string | null };
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/** The octets between the content and the trailer line: a newline, the envelope, a newline. */
export function envelopePart(json: Buffer): Buffer[] {
  return [NEWLINE, json, NEWLINE];
}
const NEWLINE = Buffer.from('\n');

export function encodeTrailer(contentLength: number, envelopeLength: number, eightBit: boolean, crc: number): Buffer {
  return Buffer.from(`MOAT-END ${contentLength} ${envelopeLength} ${eightBit ? 8 : 7} ${crc.toString(16).padStart(8, '0')}\n`);
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

export interface ParsedRecord {
  readonly envelope: Envelope;
  readonly contentOffset: number;
  readonly contentLength: number;
  readonly eightBit: boolean;
}

interface ParsedTrailer {
  readonly contentLength: number;
  readonly envelopeLength: number;
  readonly eightBit: boolean;
  readonly crc: number;
  /** Octets of "\nMOAT-END ...\n" (the envelope's closing newline included). */
  readonly length: number;
}

export function parseTrailer(tail: Buffer): ParsedTrailer | null {
  const m = TRAILER_RE.exec(tail.toString('latin1'));
  if (!m) return null;
  return { contentLength: Number(m[1]), envelopeLength: Number(m[2]), eightBit: m[3] === '8', crc: parseInt(m[4] as string, 16), length: m[0].length };
}

function validEnvelope(e: unknown): e is Envelope {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Partial<Envelope>;
  return o.v === 2 && typeof o.id === 'string' && Array.isArray(o.recipients) && typeof o.prepend === 'string' && Array.isArray(o.edits);
}

/** Validates a whole record (magic, trailer, lengths, checksum, envelope) held in memory. */
export function parseRecord(data: Buffer): ParsedRecord | RecordProblem {
  if (!data.subarray(0, RECORD_MAGIC.length).equals(RECORD_MAGIC)) return 'no-magic';
  const trailer = parseTrailer(data.subarray(Math.max(0, data.length - MAX_TRAILER)));
  if (!trailer) return 'no-trailer';
  const contentOffset = RECORD_MAGIC.length;
  const envelopeOffset = contentOffset + trailer.contentLength + 1;
  if (envelopeOffset + trailer.envelopeLength + trailer.length !== data.length) return 'length-mismatch';
  const crc = new RecordChecksum();
  crc.update(data.subarray(0, data.length - trailer.length + 1));
  if (crc.digest !== trailer.crc) return 'checksum-mismatch';
  if (data[envelopeOffset - 1] !== 10) return 'bad-envelope';
  let envelope: unknown;
  try {
    envelope = JSON.parse(data.subarray(envelopeOffset, envelopeOffset + trailer.envelopeLength).toString('utf8'));
  } catch {
    return 'bad-envelope';
  }
  if (!validEnvelope(envelope)) return 'bad-envelope';
  return { envelope, contentOffset, contentLength: trailer.contentLength, eightBit: trailer.eightBit };
}
