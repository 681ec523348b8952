/**
 * SpamAssassin's spamd over the SPAMC protocol (spamd/PROTOCOL in SpamAssassin 4): the request
 * `SYMBOLS SPAMC/1.5`, `Content-length: N`, optionally `User: NAME`, an empty line, then exactly N
 * octets of message; the answer `SPAMD/1.1 0 EX_OK`, `Spam: True ; 15.3 / 5.0`, an empty line and
 * the names of the rules that hit, comma-separated. spamd closes after answering. One connection per
 * check, at most `maxConcurrent` at once (spamd serves --max-children at a time).
 * Trusts: the numbers in the Spam: line and rule names matching [A-Za-z0-9_]; nothing else.
 * Fails: down, slow, an error code (`SPAMD/1.0 76 Bad header line`) or an answer without a Spam:
 * line → ScannerError, so the check throws and the message is deferred unless fail-open.
 */
import { exchange, peerText, ScannerError, Slots, type SocketTarget } from './scanner-io.js';

export interface SpamdVerdict {
  readonly isSpam: boolean;
  /** spamd's score, e.g. 1003.3. */
  readonly score: number;
  /** Its required score (its own threshold), e.g. 5. */
  readonly threshold: number;
  /** The rules that hit, as spamd listed them. */
  readonly rules: readonly string[];
}

export interface SpamdRequest {
  /** Octets sent before the message (our Received: field); counted in Content-length. */
  readonly prefix: Buffer;
  readonly content: AsyncIterable<Buffer>;
  /** Octets `content` yields. */
  readonly size: number;
}

/** The port a SpamAssassin check uses. */
export interface SpamdScanner {
  check(request: SpamdRequest, signal: AbortSignal): Promise<SpamdVerdict>;
}

export interface SpamdOptions {
  readonly target: SocketTarget;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  /** Sent as `User:` (whose preferences spamd applies); absent: spamd's default. */
  readonly user?: string;
}

const NAME = 'spamd';

/** spamd's answer to SYMBOLS; anything else is a ScannerError. Exported for tests. */
export function parseSpamdAnswer(raw: Buffer): SpamdVerdict {
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = (split < 0 ? text : text.slice(0, split)).split('\r\n');
  const body = split < 0 ? '' : text.slice(split + 4);
  const status = /^SPAMD\/\d+\.\d+ (\d+) (.*)$/.exec(head[0] ?? '');
  if (!status) throw new ScannerError('SCANNER_PROTOCOL', NAME, text === '' ? 'closed the connection without an answer' : `unexpected answer: ${peerText(head[0] ?? '')}`);
  if (status[1] !== '0') throw new ScannerError('SCANNER_REFUSED', NAME, `error ${status[1]}: ${peerText(status[2] ?? '')}`);
  const spam = head.map((l) => /^Spam: (True|False|Yes|No) ; (-?\d+(?:\.\d+)?) \/ (-?\d+(?:\.\d+)?)$/i.exec(l)).find((m) => m !== null);
  if (!spam) throw new ScannerError('SCANNER_PROTOCOL', NAME, 'answer without a Spam: line');
  const rules = body
    .split(/[,\s]+/)
    .filter((r) => /^[A-Za-z0-9_]+$/.test(r))
    .slice(0, 500);
  return { isSpam: /^(true|yes)$/i.test(spam[1] as string), score: Number(spam[2]), threshold: Number(spam[3]), rules };
}

export class SpamdClient implements SpamdScanner {
  private readonly slots: Slots;

  constructor(private readonly o: SpamdOptions) {
    this.slots = new Slots(o.maxConcurrent, NAME);
  }

  async check(request: SpamdRequest, signal: AbortSignal): Promise<SpamdVerdict> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      const length = request.prefix.length + request.size;
      const head = `SYMBOLS SPAMC/1.5\r\nContent-length: ${length}\r\n${this.o.user ? `User: ${this.o.user}\r\n` : ''}\r\n`;
      const answer = await exchange(
        NAME,
        this.o.target,
        async (out) => {
          if (!(await out.write(Buffer.concat([Buffer.from(head, 'latin1'), request.prefix])))) return;
          let sent = 0;
          for await (const piece of request.content) {
            sent += piece.length;
            // Never send other than the announced length: spamd would judge a different message.
            if (sent > request.size) throw new ScannerError('SCANNER_PROTOCOL', NAME, `message longer than its size ${request.size}`);
            if (!(await out.write(piece))) return;
          }
          if (sent !== request.size) throw new ScannerError('SCANNER_PROTOCOL', NAME, `message of ${sent} octets, announced ${request.size}`);
        },
        deadline,
      );
      return parseSpamdAnswer(answer);
    });
  }

  /** The SPAMC PING request (spamd(1p)): `PING SPAMC/1.5` answered `SPAMD/1.5 0 PONG`; anything else throws. */
  async ping(signal: AbortSignal): Promise<void> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      const answer = await exchange(NAME, this.o.target, async (out) => void (await out.write(Buffer.from('PING SPAMC/1.5\r\n\r\n', 'latin1'))), deadline, 256);
      const first = answer.toString('latin1').split('\r\n')[0] ?? '';
      if (!/^SPAMD\/\d+\.\d+ 0 PONG$/.test(first)) throw new ScannerError('SCANNER_PROTOCOL', NAME, `PING answered "${peerText(first, 60)}"`);
    });
  }
}
