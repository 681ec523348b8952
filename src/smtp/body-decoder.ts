/**
 * Message content decoding for DATA (RFC 5321 §4.1.1.4, §4.5.2) and BDAT (RFC 3030). A byte-level state
 * machine that survives any split across TCP segments. It trusts nothing: only CRLF ends a line and only
 * CRLF "." CRLF ends DATA. A bare CR or bare LF stops decoding at once (the smuggling family: "\n.\n",
 * "\r.\r", "\n.\r\n"...), because after one we can no longer agree with every other MTA on where the
 * message ends. NUL, over-long lines, an over-size header or message are noted and the rest of the
 * message is consumed (discarded) so that the reply comes at the real end. Memory use is bounded by the
 * size of one input chunk: output is emitted as zero-copy slices of the input.
 */
import { isAscii } from 'node:buffer';

export interface BodyLimits {
  /** Largest message (unstuffed octets) we keep; beyond it the content is discarded. */
  readonly maxMessageSize: number;
  /** Largest header section in octets (up to the empty line). */
  readonly maxHeaderSize: number;
  /** RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF. */
  readonly maxLineLength: number;
}

export type BodyProblem = 'bare-newline' | 'nul' | 'line-too-long' | 'header-too-big' | 'too-big';

/**
 * When a message has several problems, the most serious one is reported. Ranking (rather than "first
 * seen") keeps the answer independent of where TCP cut the stream: 'too-big' is noticed when output is
 * emitted, the others while scanning, so their order of discovery depends on the split.
 */
const PROBLEM_RANK: Readonly<Record<BodyProblem, number>> = {
  nul: 1,
  'line-too-long': 2,
  'header-too-big': 3,
  'too-big': 4,
  'bare-newline': 5,
};

export interface DecodeStep {
  /** Content to keep, as slices of the input (empty once a problem makes the message unacceptable). */
  readonly out: Buffer[];
  /** True when the end of DATA (or of the last BDAT chunk) was reached. */
  readonly done: boolean;
  /** Input octets after the end marker (pipelined commands); only for DATA. */
  readonly rest: Buffer | null;
}

const CR = 13;
const LF = 10;
const PERIOD = 46;
const NUL = 0;

// Line states. LINE_START and DOT/AFTER_DOT_CR matter only for DATA (dot-stuffing and the end marker).
const LINE_START = 0;
const IN_LINE = 1;
const AFTER_CR = 2;
const AFTER_DOT = 3;
const AFTER_DOT_CR = 4;
type State = typeof LINE_START | typeof IN_LINE | typeof AFTER_CR | typeof AFTER_DOT | typeof AFTER_DOT_CR;

export class BodyDecoder {
  private state: State = LINE_START;
  private lineLength = 0;
  private inHeader = true;
  private headerBytes = 0;
  private kept = 0;
  private eightBit = false;
  private problem: BodyProblem | null = null;

  /** @param dotted true for DATA (dot-stuffed, ends with CRLF.CRLF), false for BDAT (raw octets). */
  constructor(
    private readonly limits: BodyLimits,
    private readonly dotted: boolean,
  ) {}

  /** The most serious problem seen, if any; 'bare-newline' means the session must be closed. */
  get failure(): BodyProblem | null {
    return this.problem;
  }

  /** Whether the kept content holds octets above 127 (needs 8BITMIME downstream). */
  get has8bit(): boolean {
    return this.eightBit;
  }

  /** Unstuffed octets seen so far, including the ones discarded after a problem. */
  get size(): number {
    return this.kept;
  }

  /** Whether a BDAT message ended at a line boundary (RFC 3030 content is still lines of text). */
  get atLineBoundary(): boolean {
    return this.state === LINE_START;
  }

  push(chunk: Buffer): DecodeStep {
    const out: Buffer[] = [];
    let from = 0; // start of the pending output range
    let i = 0;
    const n = chunk.length;
    const emit = (end: number): void => {
      if (end > from) this.keep(chunk.subarray(from, end), out);
    };

    while (i < n) {
      if (this.problem === 'bare-newline') return { out: [], done: true, rest: null };
      switch (this.state) {
        case IN_LINE: {
          // Fast path: jump to the next CR, LF or NUL.
          let j = i;
          while (j < n) {
            const b = chunk[j] as number;
            if (b === CR || b === LF || b === NUL) break;
            j++;
          }
          this.lineLength += j - i;
          i = j;
          if (i >= n) break;
          const b = chunk[i] as number;
          if (b === CR) {
            this.state = AFTER_CR;
            this.lineLength++;
            i++;
          } else if (b === LF) {
            return this.bare();
          } else {
            this.note('nul');
            this.lineLength++;
            i++;
          }
          break;
        }
        case AFTER_CR: {
          if (chunk[i] !== LF) return this.bare();
          this.lineLength++;
          i++;
          this.endLine();
          break;
        }
        case LINE_START: {
          const b = chunk[i] as number;
          if (this.dotted && b === PERIOD) {
            // Withhold the dot: it is either stuffing or the start of the end marker.
            emit(i);
            i++;
            from = i;
            this.state = AFTER_DOT;
            this.lineLength = 1;
          } else if (b === LF) {
            return this.bare();
          } else {
            this.state = IN_LINE;
            this.lineLength = 0;
          }
          break;
        }
        case AFTER_DOT: {
          const b = chunk[i] as number;
          if (b === CR) {
            this.state = AFTER_DOT_CR;
            this.lineLength++;
            i++;
          } else if (b === LF) {
            return this.bare();
          } else {
            // A stuffed dot: drop it and go on with the rest of the line (RFC 5321 §4.5.2).
            this.state = IN_LINE;
          }
          break;
        }
        case AFTER_DOT_CR: {
          if (chunk[i] !== LF) return this.bare();
          // CRLF "." CRLF: the content ends before the dot.
          const rest = i + 1 < n ? chunk.subarray(i + 1) : null;
          return { out: this.problem ? [] : out, done: true, rest };
        }
      }
      // Flush when a withheld dot was dropped: its output range restarted past it.
    }
    if (this.state !== AFTER_DOT && this.state !== AFTER_DOT_CR) emit(n);
    return { out: this.problem ? [] : out, done: false, rest: null };
  }

  private keep(slice: Buffer, out: Buffer[]): void {
    this.kept += slice.length;
    if (this.kept > this.limits.maxMessageSize) this.note('too-big');
    if (!this.eightBit && !isAscii(slice)) this.eightBit = true;
    if (!this.problem) out.push(slice);
  }

  private endLine(): void {
    if (this.lineLength > this.limits.maxLineLength) this.note('line-too-long');
    // The first empty line (just CRLF) ends the header section (RFC 5322 §2.1).
    if (this.inHeader) {
      if (this.lineLength === 2) this.inHeader = false;
      else if ((this.headerBytes += this.lineLength) > this.limits.maxHeaderSize) this.note('header-too-big');
    }
    this.lineLength = 0;
    this.state = LINE_START;
  }

  private note(p: BodyProblem): void {
    if (!this.problem || PROBLEM_RANK[p] > PROBLEM_RANK[this.problem]) this.problem = p;
  }

  private bare(): DecodeStep {
    this.note('bare-newline');
    return { out: [], done: true, rest: null };
  }
}
