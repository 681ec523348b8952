/**
 * ClamAV's clamd over its INSTREAM command (clamd(8), "INSTREAM"): `zINSTREAM\0`, then chunks each
 * preceded by its length as 4 octets in network byte order, then a zero length; clamd answers
 * `stream: OK\0`, `stream: <Signature> FOUND\0`, or `<reason> ERROR\0` (e.g. `INSTREAM size limit
 * exceeded. ERROR` past its StreamMaxLength), and closes. One connection per scan; at most
 * `maxConcurrent` at once (clamd's MaxThreads serves that many; the rest would queue inside clamd
 * where no deadline of ours reaches them).
 * Trusts: clamd's answer only as far as the grammar above; a signature name is kept as printable
 * ASCII of at most 200 characters.
 * Fails: down, slow, refusing or unintelligible → ScannerError (the check throws, the message is
 * deferred unless the operator chose fail-open). Never reports "clean" without clamd's `OK`.
 */
import { exchange, peerText, ScannerError, Slots, type SocketTarget } from './scanner-io.js';

export interface VirusScan {
  /** The signature clamd found, or null for `OK`. */
  readonly virus: string | null;
  /** Octets sent to clamd: the whole message, or its first `maxSize` octets. */
  readonly scanned: number;
}

/** The port a virus check uses (CONVENTIONS.md 9). */
export interface VirusScanner {
  /** Streams `content` to the scanner (at most its size limit) and returns its answer. */
  scan(content: AsyncIterable<Buffer>, signal: AbortSignal): Promise<VirusScan>;
}

export interface ClamdOptions {
  readonly target: SocketTarget;
  /** Time budget of one scan, slot wait included. */
  readonly timeoutMs: number;
  /** Octets sent at most; must not exceed clamd's StreamMaxLength. */
  readonly maxSize: number;
  readonly maxConcurrent: number;
  /** Octets per INSTREAM chunk; default 64 KiB. */
  readonly chunkSize?: number;
}

const NAME = 'clamd';

/** clamd's answer as a scan result; anything else is a ScannerError. Exported for tests. */
export function parseClamdAnswer(raw: Buffer, maxSize: number): string | null {
  const text = raw.toString('latin1').replace(/\0+$/, '').replace(/\s+$/, '');
  if (text === 'stream: OK') return null;
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) return peerText(found[1] as string);
  if (/size limit exceeded/i.test(text)) {
    throw new ScannerError('SCANNER_REFUSED', NAME, `refused a stream of at most ${maxSize} octets: clamav.maxSize is above clamd's StreamMaxLength`);
  }
  if (text === '') throw new ScannerError('SCANNER_PROTOCOL', NAME, 'closed the connection without an answer');
  if (/ ERROR$/.test(text)) throw new ScannerError('SCANNER_REFUSED', NAME, peerText(text));
  throw new ScannerError('SCANNER_PROTOCOL', NAME, `unexpected answer: ${peerText(text)}`);
}

export class ClamdClient implements VirusScanner {
  private readonly slots: Slots;
  private readonly chunk: number;

  constructor(private readonly o: ClamdOptions) {
    this.slots = new Slots(o.maxConcurrent, NAME);
    this.chunk = o.chunkSize ?? 64 * 1024;
  }

  async scan(content: AsyncIterable<Buffer>, signal: AbortSignal): Promise<VirusScan> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      let scanned = 0;
      const answer = await exchange(
        NAME,
        this.o.target,
        async (out) => {
          if (!(await out.write(Buffer.from('zINSTREAM\0', 'latin1')))) return;
          // Past maxSize the rest is not sent: clamd would refuse the whole stream.
          sending: for await (const piece of content) {
            for (let at = 0; at < piece.length; ) {
              const n = Math.min(piece.length - at, this.chunk, this.o.maxSize - scanned);
              if (n <= 0) break sending;
              const head = Buffer.allocUnsafe(4);
              head.writeUInt32BE(n);
              if (!(await out.write(Buffer.concat([head, piece.subarray(at, at + n)])))) return;
              at += n;
              scanned += n;
            }
          }
          // The zero-length chunk ends the stream.
          await out.write(Buffer.alloc(4));
        },
        deadline,
      );
      return { virus: parseClamdAnswer(answer, this.o.maxSize), scanned };
    });
  }

  /** clamd's PING (clamd(8)): `zPING\0` answered `PONG\0`; anything else throws a ScannerError. */
  async ping(signal: AbortSignal): Promise<void> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      const answer = await exchange(NAME, this.o.target, async (out) => void (await out.write(Buffer.from('zPING\0', 'latin1'))), deadline, 256);
      const text = answer.toString('latin1').replace(/\0+$/, '').trim();
      if (text !== 'PONG') throw new ScannerError('SCANNER_PROTOCOL', NAME, `PING answered "${peerText(text, 60)}"`);
    });
  }
}
