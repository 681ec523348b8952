/**
 * Transparency for DATA (RFC 5321 §4.5.2): every line that starts with "." gets one more "." in
 * front, and the body is closed with CRLF "." CRLF. Streaming: state carries across chunks, so a "."
 * right after a CRLF that ended the previous chunk is still stuffed. Trusts its input to use CRLF
 * line endings (the spool guarantees it); a "." after a bare LF is stuffed as well, because some
 * servers end lines at a bare LF and an unstuffed "." there could end the message early (SMTP
 * smuggling). Never fails.
 */

const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;
const DOT_BUFFER = Buffer.from('.');

export class DotStuffer {
  /** True when the next byte starts a line (start of body, or after LF). */
  #atLineStart = true;
  /** The last two bytes written, to know whether the body already ends with CRLF. */
  #last = -1;
  #beforeLast = -1;

  /** Returns the chunk with leading dots doubled; the result may share memory with the input. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const parts: Buffer[] = [];
    let from = 0;
    let i = 0;
    if (this.#atLineStart && chunk[0] === DOT) {
      parts.push(DOT_BUFFER);
    }
    for (;;) {
      const nl = chunk.indexOf(LF, i);
      if (nl < 0 || nl === chunk.length - 1) break;
      if (chunk[nl + 1] === DOT) {
        parts.push(chunk.subarray(from, nl + 1), DOT_BUFFER);
        from = nl + 1;
      }
      i = nl + 1;
    }
    this.#atLineStart = chunk[chunk.length - 1] === LF;
    this.#beforeLast = chunk.length >= 2 ? (chunk[chunk.length - 2] ?? -1) : this.#last;
    this.#last = chunk[chunk.length - 1] ?? -1;
    if (parts.length === 0) return chunk;
    parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** The end-of-data indication, preceded by a CRLF when the body did not end with one. */
  end(): Buffer {
    const endsWithCrlf = this.#beforeLast === CR && this.#last === LF;
    const empty = this.#last === -1;
    return Buffer.from(endsWithCrlf || empty ? '.\r\n' : '\r\n.\r\n');
  }
}

/** Dot-stuffs a whole body at once (tests, small messages). */
export function dotStuff(body: Buffer): Buffer {
  const s = new DotStuffer();
  return Buffer.concat([s.push(body), s.end()]);
}
