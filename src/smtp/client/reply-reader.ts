/**
 * Incremental parser of SMTP replies (RFC 5321 §4.2) from a byte stream. Pure: it is fed chunks as
 * they arrive, in any split, and hands back complete replies as `SmtpReply` values via
 * `downstreamReply`. It trusts nothing: every line must be "NNN", "NNN text" or "NNN-text" with a
 * code 200..599 and one code per reply; a line longer than `maxLineOctets` or a reply longer than
 * `maxLines` lines is refused before it is buffered whole. Any violation throws a PROTOCOL
 * `SmtpClientError`; after that the parser stays failed, so the stream cannot resynchronize on
 * attacker-chosen bytes.
 */
import { downstreamReply, type SmtpReply } from '../reply.js';
import { SmtpClientError } from './errors.js';

export interface ReplyLimits {
  /** Octets per reply line, without the line ending. RFC 5321 §4.5.3.1.5 says 512; servers send more. */
  readonly maxLineOctets: number;
  /** Lines per reply; EHLO replies are the longest in practice (a few dozen). */
  readonly maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = Object.freeze({ maxLineOctets: 4096, maxLines: 100 });

const LF = 0x0a;
const CR = 0x0d;
const LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;

export class ReplyParser {
  readonly #limits: ReplyLimits;
  /** Bytes of an unfinished line. */
  #partial: Buffer[] = [];
  #partialLength = 0;
  /** Lines of an unfinished multi-line reply. */
  #code: number | null = null;
  #lines: string[] = [];
  #failed: SmtpClientError | null = null;

  constructor(limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {
    this.#limits = limits;
  }

  /** True when bytes of a reply have arrived but the reply is not complete. */
  get pending(): boolean {
    return this.#partialLength > 0 || this.#code !== null;
  }

  /** Feeds one chunk; returns the replies it completed, in order. Throws on a protocol violation. */
  push(chunk: Buffer): SmtpReply[] {
    if (this.#failed) throw this.#failed;
    const out: SmtpReply[] = [];
    try {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(LF, start);
        const end = nl < 0 ? chunk.length : nl;
        this.#append(chunk.subarray(start, end));
        if (nl < 0) break;
        const reply = this.#line(this.#takeLine());
        if (reply) out.push(reply);
        start = nl + 1;
      }
    } catch (e) {
      this.#failed = e instanceof SmtpClientError ? e : protocol(String(e));
      throw this.#failed;
    }
    return out;
  }

  #append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#partialLength += bytes.length;
    // +1: a CR before the LF is not part of the line's length.
    if (this.#partialLength > this.#limits.maxLineOctets + 1) {
      throw protocol(`reply line longer than ${this.#limits.maxLineOctets} octets`);
    }
    this.#partial.push(bytes);
  }

  #takeLine(): Buffer {
    let line = Buffer.concat(this.#partial, this.#partialLength);
    this.#partial = [];
    this.#partialLength = 0;
    // XXX: a bare LF is accepted as a line end; RFC 5321 §2.3.8 wants CRLF, but refusing a LAN
    // server's sloppy reply would only delay mail, and replies are never relayed verbatim.
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.#limits.maxLineOctets) throw protocol(`reply line longer than ${this.#limits.maxLineOctets} octets`);
    return line;
  }

  #line(raw: Buffer): SmtpReply | null {
    // Reply text may be UTF-8 (RFC 6531 §3.7.4); controls other than HT are replaced so that a
    // reply can go into a log or a DSN without carrying terminal escapes.
    const text = raw.toString('utf8').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '?');
    const m = LINE.exec(text);
    if (!m) throw protocol(`malformed reply line ${JSON.stringify(text.slice(0, 80))}`);
    const code = Number(m[1]);
    if (this.#code !== null && code !== this.#code) throw protocol(`reply code changed from ${this.#code} to ${code} within a reply`);
    this.#code = code;
    this.#lines.push(m[3] ?? '');
    if (m[2] === '-') {
      if (this.#lines.length >= this.#limits.maxLines) throw protocol(`reply longer than ${this.#limits.maxLines} lines`);
      return null;
    }
    const reply = downstreamReply(code, this.#lines);
    this.#code = null;
    this.#lines = [];
    return reply;
  }
}

function protocol(message: string): SmtpClientError {
  return new SmtpClientError('PROTOCOL', message, { transient: true });
}
