/**
 * Pull-based reading from a client socket with bounded buffering. The session asks for a line, a chunk
 * or an exact count of octets and awaits it; the socket is paused whenever more than `highWater` octets
 * wait unread, so a client that floods pipelined commands fills its own TCP window, not our memory.
 * A line over the limit is consumed to its LF and reported as too long: memory stays bounded even for a
 * 10 MB line without a newline. `discard()` drops whatever is buffered (STARTTLS, RFC 3207 §4.2 and the
 * CVE-2011-0411 family); `attach()` moves reading to a new stream (the TLS socket).
 */
import type { Duplex } from 'node:stream';

export type LineResult =
  | { readonly kind: 'line'; readonly line: Buffer }
  | { readonly kind: 'too-long' }
  | { readonly kind: 'bare-newline' }
  | { readonly kind: 'eof' };

export class InputClosed extends Error {
  readonly code = 'INPUT_CLOSED';
}

const CR = 13;
const LF = 10;

export class Input {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private waiter: (() => void) | null = null;
  private stream: Duplex | null = null;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > this.highWater) this.stream?.pause();
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly highWater: number) {}

  attach(stream: Duplex): void {
    this.detach();
    this.stream = stream;
    this.ended = false;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  detach(): void {
    const s = this.stream;
    if (!s) return;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onEnd);
    this.stream = null;
  }

  /** Octets received and not yet consumed (pipelined input). */
  get pending(): number {
    return this.buffered;
  }

  get closed(): boolean {
    return this.ended && this.buffered === 0;
  }

  /** Drops everything buffered and returns how many octets were dropped. */
  discard(): number {
    const n = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    this.stream?.resume();
    return n;
  }

  /**
   * Reads one CRLF-terminated line (without the CRLF). A lone LF, or a CR not followed by LF, is
   * reported as a bare newline. Over `maxLength` octets (CRLF included) the line is skipped to its end.
   */
  async readLine(maxLength: number, signal: AbortSignal): Promise<LineResult> {
    const acc: Buffer[] = [];
    let accLength = 0; // octets of this line consumed so far
    let skipping = false; // past maxLength: consume to the LF, keep nothing
    let pendingCr = false; // the octets consumed so far end with CR
    for (;;) {
      const head = this.chunks[0];
      if (!head) {
        if (this.ended) return { kind: 'eof' };
        await this.wait(signal);
        continue;
      }
      const lf = head.indexOf(LF);
      const seg = lf < 0 ? head : head.subarray(0, lf);
      const cr = seg.indexOf(CR);
      // A CR is allowed only as the last octet before LF (possibly split across segments).
      if ((pendingCr && seg.length > 0) || (cr >= 0 && cr !== seg.length - 1)) return this.bareNewline();
      if (lf >= 0) {
        const endsWithCr = seg.length > 0 ? seg[seg.length - 1] === CR : pendingCr;
        if (!endsWithCr) return this.bareNewline();
        this.consume(lf + 1);
        if (skipping || accLength + lf + 1 > maxLength) return { kind: 'too-long' };
        acc.push(seg);
        const line = acc.length === 1 ? seg : Buffer.concat(acc);
        return { kind: 'line', line: line.subarray(0, line.length - 1) };
      }
      this.consume(head.length);
      pendingCr = cr >= 0;
      accLength += head.length;
      if (!skipping && accLength > maxLength) {
        skipping = true;
        acc.length = 0;
      }
      if (!skipping) acc.push(head);
    }
  }

  /** Reads whatever is buffered (up to `max` octets), waiting for at least one octet. Null at EOF. */
  async readSome(max: number, signal: AbortSignal): Promise<Buffer | null> {
    for (;;) {
      const head = this.chunks[0];
      if (head) {
        if (head.length <= max) {
          this.consume(head.length);
          return head;
        }
        const part = head.subarray(0, max);
        this.consume(max);
        return part;
      }
      if (this.ended) return null;
      await this.wait(signal);
    }
  }

  /** Resolves once at least one octet is buffered or the stream has ended (nothing is consumed). */
  async waitReadable(signal: AbortSignal): Promise<void> {
    while (this.buffered === 0 && !this.ended) await this.wait(signal);
  }

  /** The first octet buffered, without consuming it; undefined when nothing is buffered. */
  peekOctet(): number | undefined {
    return this.chunks[0]?.[0];
  }

  /** Reads exactly `n` octets (n small: they are copied into one buffer); null at EOF before that. */
  async readExact(n: number, signal: AbortSignal): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.readSome(n - got, signal);
      if (!part) return null;
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Takes everything buffered, leaving nothing (octets to hand to a TLS handshake). */
  take(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }

  /** Puts octets back at the front (the part of a chunk read past the end of DATA). */
  unshift(rest: Buffer): void {
    this.chunks.unshift(rest);
    this.buffered += rest.length;
  }

  private bareNewline(): LineResult {
    this.discard();
    return { kind: 'bare-newline' };
  }

  private consume(n: number): void {
    let left = n;
    while (left > 0) {
      const head = this.chunks[0];
      if (!head) break;
      if (head.length <= left) {
        this.chunks.shift();
        left -= head.length;
        this.buffered -= head.length;
      } else {
        this.chunks[0] = head.subarray(left);
        this.buffered -= left;
        left = 0;
      }
    }
    if (this.buffered <= this.highWater) this.stream?.resume();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = null;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}
