/**
 * Property-based fuzzing of the two parsers that read raw client input: command lines and DATA
 * content. Bounded by default (the whole file runs in a few seconds); FUZZ_RUNS=N multiplies the
 * effort, e.g. `FUZZ_RUNS=200000 npx vitest run src/smtp/fuzz.test.ts`. A failure prints the
 * fast-check seed and path to replay it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyDecoder, type BodyLimits, type BodyProblem } from './body-decoder.js';
import { parseCommand } from './command.js';
import { formatReply, type SmtpReply } from './reply.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? '') || 0;
/** Runs for one property: the default, or FUZZ_RUNS when given. */
const runs = (byDefault: number): number => (RUNS > 0 ? RUNS : byDefault);
const TIMEOUT = RUNS > 0 ? 0 : 30_000;

const VERBS = ['EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'STARTTLS', 'HELP', 'VRFY', 'EXPN', 'AUTH'];
const REPLY_LINE = /^\d{3}[ -][^\r\n]*\r\n$/;

/** A reply is well-formed on the wire: CRLF lines under 512 octets, "-" on all but the last. */
function assertWellFormed(r: SmtpReply): void {
  for (const withStatus of [true, false]) {
    const wire = formatReply(r, withStatus);
    const lines = wire.split(/(?<=\r\n)/);
    expect(lines.length).toBeGreaterThan(0);
    lines.forEach((l, i) => {
      expect(l, JSON.stringify(l)).toMatch(REPLY_LINE);
      expect(Buffer.byteLength(l, 'utf8')).toBeLessThanOrEqual(512);
      expect(l.slice(0, 3)).toBe(String(r.code));
      expect(l[3]).toBe(i === lines.length - 1 ? ' ' : '-');
    });
  }
}

/** parseCommand never throws; a refusal is a 4xx/5xx with a matching enhanced status. */
function checkParse(line: string): void {
  const r = parseCommand(line);
  if (r.ok) {
    expect(VERBS).toContain(r.command.verb);
    if (r.command.verb === 'BDAT') expect(Number.isSafeInteger(r.command.size)).toBe(true);
    return;
  }
  const { code, status } = r.reply;
  expect(code).toBeGreaterThanOrEqual(400);
  expect(code).toBeLessThanOrEqual(599);
  expect(status).not.toBeNull();
  expect(status?.[0]).toBe(String(code)[0]);
  expect(status).toMatch(/^[45]\.\d{1,3}\.\d{1,3}$/);
  assertWellFormed(r.reply);
}

// --- command lines ------------------------------------------------------------------------------

/** Lines that look like commands: a verb (any case), a separator, arguments with SMTP syntax bits. */
const commandLike = fc
  .tuple(
    fc.oneof(fc.constantFrom(...VERBS, 'XEXCH50', 'AUTH', 'ETRN', 'X-LINK2STATE', 'mail', 'Rcpt', 'bdat'), fc.string({ maxLength: 8 })),
    fc.constantFrom(' ', '', '  ', '\t', ':'),
    fc.array(
      fc.oneof(
        fc.constantFrom('FROM:', 'TO:', '<', '>', '@', '"', '\\', ' ', 'SIZE=', 'BODY=8BITMIME', 'SMTPUTF8', 'RET=HDRS', 'ENVID=', 'NOTIFY=', 'ORCPT=rfc822;', '+2B', 'LAST', '0', '9'),
        fc.string({ maxLength: 6, unit: 'binary' }),
        fc.string({ maxLength: 6, unit: 'grapheme' }),
      ),
      { maxLength: 12 },
    ),
  )
  .map(([verb, sep, args]) => `${verb}${sep}${args.join('')}`);

describe('parseCommand under fuzzing', () => {
  it('never throws on arbitrary strings (unicode, control characters, lone surrogates)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ maxLength: 2000 })), (s) => {
        checkParse(s);
      }),
      { numRuns: runs(3000) },
    );
  }, TIMEOUT);

  it('answers command-like lines with a valid command or a well-formed 4xx/5xx', () => {
    fc.assert(
      fc.property(commandLike, (s) => {
        checkParse(s);
      }),
      { numRuns: runs(5000) },
    );
  }, TIMEOUT);

  it('handles very long arguments without throwing', () => {
    for (const verb of VERBS) {
      checkParse(`${verb} ${'<'.repeat(10_000)}`);
      checkParse(`${verb} FROM:<${'a'.repeat(100_000)}@b> ${'X=Y '.repeat(1000)}`);
      checkParse(`${verb} TO:<${'"'.repeat(5000)}>`);
    }
    checkParse(`BDAT ${'9'.repeat(400)}`);
  });
});

// --- DATA content -------------------------------------------------------------------------------

const bigLimits: BodyLimits = { maxMessageSize: 1 << 30, maxHeaderSize: 1 << 30, maxLineLength: 1 << 30 };
const smallLimits: BodyLimits = { maxMessageSize: 60, maxHeaderSize: 30, maxLineLength: 12 };

interface Decoded {
  readonly done: boolean;
  readonly failure: BodyProblem | null;
  /** Content kept; only meaningful without a failure. */
  readonly content: Buffer;
  /** Input after the end marker: the step's rest followed by any chunks not pushed. */
  readonly rest: Buffer;
  readonly size: number;
  readonly eightBit: boolean;
}

function decode(chunks: readonly Buffer[], limits: BodyLimits): Decoded {
  const d = new BodyDecoder(limits, true);
  const out: Buffer[] = [];
  const rest: Buffer[] = [];
  let done = false;
  for (const c of chunks) {
    if (done) {
      rest.push(c);
      continue;
    }
    const step = d.push(c);
    out.push(...step.out);
    done = step.done;
    if (step.rest) rest.push(step.rest);
  }
  return { done, failure: d.failure, content: Buffer.concat(out), rest: Buffer.concat(rest), size: d.size, eightBit: d.has8bit };
}

function split(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(data.subarray(from, p));
    from = Math.max(from, p);
  }
  chunks.push(data.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

/** The reference DATA reader: CRLF lines, end at ".", leading dot removed, any bare CR or LF is fatal. */
function referenceData(data: Buffer): { done: boolean; bare: boolean; content: Buffer; rest: Buffer } {
  const content: Buffer[] = [];
  let pos = 0;
  for (;;) {
    let i = pos;
    while (i < data.length && data[i] !== 13 && data[i] !== 10) i++;
    if (i >= data.length) return { done: false, bare: false, content: Buffer.concat(content), rest: Buffer.alloc(0) };
    if (data[i] === 10) return { done: true, bare: true, content: Buffer.alloc(0), rest: Buffer.alloc(0) };
    if (i + 1 >= data.length) return { done: false, bare: false, content: Buffer.concat(content), rest: Buffer.alloc(0) };
    if (data[i + 1] !== 10) return { done: true, bare: true, content: Buffer.alloc(0), rest: Buffer.alloc(0) };
    const line = data.subarray(pos, i);
    if (line.length === 1 && line[0] === 46) return { done: true, bare: false, content: Buffer.concat(content), rest: data.subarray(i + 2) };
    content.push(line[0] === 46 ? line.subarray(1) : line, Buffer.from('\r\n'));
    pos = i + 2;
  }
}

function hasBareNewline(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 13 && b[i + 1] !== 10) return true;
    if (b[i] === 10 && (i === 0 || b[i - 1] !== 13)) return true;
  }
  return false;
}

/** Bytes biased toward what matters to the decoder: CR, LF, dots, NUL, 8-bit, and whole tokens. */
const dataBytes = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a', 'b', ' ', ':', '\r\n', '\r\n', '\r\n.', '.', '..', '\r\n.\r\n', '\r\n..\r\n', '\r\n\r\n', '\r', '\n', '\x00', '\xe9', '\xff') },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u).toString('latin1')) },
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));
const cutsArb = fc.array(fc.nat({ max: 1000 }), { maxLength: 8 });

function checkDecoder(data: Buffer, cuts: readonly number[]): void {
  const whole = decode([data], bigLimits);
  const pieces = decode(split(data, cuts), bigLimits);
  const bytewise = decode([...data].map((b) => Buffer.from([b])), bigLimits);
  for (const other of [pieces, bytewise]) {
    expect(other.done).toBe(whole.done);
    expect(other.failure).toBe(whole.failure);
    // After a bare newline the session closes: what was counted or left over no longer matters.
    if (whole.failure === 'bare-newline') continue;
    expect(other.rest.equals(whole.rest)).toBe(true);
    expect(other.size).toBe(whole.size);
    expect(other.eightBit).toBe(whole.eightBit);
    if (whole.failure === null) expect(other.content.toString('latin1')).toBe(whole.content.toString('latin1'));
  }
  const ref = referenceData(data);
  if (ref.bare) {
    expect(whole.failure).toBe('bare-newline');
    expect(whole.done).toBe(true);
    expect(whole.content.length).toBe(0);
    return;
  }
  expect(whole.done).toBe(ref.done);
  if (whole.done) expect(whole.rest.toString('latin1')).toBe(ref.rest.toString('latin1'));
  if (whole.done && whole.failure === null) {
    expect(whole.content.toString('latin1')).toBe(ref.content.toString('latin1'));
    expect(hasBareNewline(whole.content)).toBe(false);
    expect(whole.size).toBe(ref.content.length);
  }
  if (ref.done && ref.content.includes(0)) expect(whole.failure).toBe('nul');
}

describe('BodyDecoder (DATA) under fuzzing', () => {
  it('gives the same result however the input is split, and agrees with the reference reader', () => {
    fc.assert(
      fc.property(dataBytes, cutsArb, (data, cuts) => checkDecoder(data, cuts)),
      { numRuns: runs(3000) },
    );
  }, TIMEOUT);

  it('never throws on arbitrary bytes and ends only at CRLF.CRLF', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), cutsArb, (u, cuts) => checkDecoder(Buffer.from(u), cuts)),
      { numRuns: runs(1000) },
    );
  }, TIMEOUT);

  it('with tight limits: whether and where the message ends, and whether it fails, do not depend on the split', () => {
    fc.assert(
      fc.property(dataBytes, cutsArb, (data, cuts) => {
        const whole = decode([data], smallLimits);
        const pieces = decode(split(data, cuts), smallLimits);
        expect(pieces.done).toBe(whole.done);
        expect(pieces.failure === 'bare-newline').toBe(whole.failure === 'bare-newline');
        if (whole.failure === 'bare-newline') return;
        expect(pieces.rest.equals(whole.rest)).toBe(true);
        expect(pieces.failure === null).toBe(whole.failure === null);
        expect(pieces.size).toBe(whole.size);
        if (whole.failure === null) expect(pieces.content.equals(whole.content)).toBe(true);
        if (whole.done && whole.failure === null) expect(whole.size).toBeLessThanOrEqual(smallLimits.maxMessageSize);
      }),
      { numRuns: runs(3000) },
    );
  }, TIMEOUT);

  // Regression: 'too-big' used to lose against an earlier-noticed NUL only when the split put the NUL
  // first, so one message got 552 5.3.4 or 554 5.6.0 depending on TCP segmentation.
  it('reports the same problem however the input is split', () => {
    const limits: BodyLimits = { maxMessageSize: 10, maxHeaderSize: 1000, maxLineLength: 1000 };
    const msg = Buffer.from('aaaaaaaaaaaa\x00bc\r\n.\r\n', 'latin1');
    expect(decode([msg.subarray(0, 12), msg.subarray(12)], limits).failure).toBe(decode([msg], limits).failure);
    fc.assert(
      fc.property(dataBytes, cutsArb, (data, cuts) => {
        expect(decode(split(data, cuts), smallLimits).failure).toBe(decode([data], smallLimits).failure);
      }),
      { numRuns: runs(3000) },
    );
  }, TIMEOUT);
});

// --- mutated transcripts ------------------------------------------------------------------------

function unescape(s: string): Buffer {
  return Buffer.from(
    s.replace(/\\(r|n|0|\\|x[0-9a-fA-F]{2})/g, (_m, e: string) =>
      e === 'r' ? '\r' : e === 'n' ? '\n' : e === '0' ? '\0' : e === '\\' ? '\\' : String.fromCharCode(parseInt(e.slice(1), 16)),
    ),
    'latin1',
  );
}

/** What the client sends in each transcript, as one byte stream. */
const transcriptDir = join(import.meta.dirname, '../../test/transcripts');
const seeds: Buffer[] = readdirSync(transcriptDir)
  .filter((f) => f.endsWith('.smtp'))
  .map((f) =>
    Buffer.concat(
      readFileSync(join(transcriptDir, f), 'utf8')
        .split('\n')
        .flatMap((raw) =>
          raw.startsWith('>>') ? [unescape(raw.slice(3))] : raw === '>' || raw.startsWith('> ') ? [Buffer.from(raw.slice(2), 'utf8'), Buffer.from('\r\n')] : [],
        ),
    ),
  );

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'insert'; readonly at: number; readonly byte: number }
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'truncate'; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.constantFrom(13, 10, 0, 46, 0xff, 32) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(seed: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = (b[at] as number) ^ (1 << m.bit);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = b.subarray(0, at);
  }
  return b;
}

/** The session's line split (CRLF only) as text, both as the server decodes it and as latin1. */
function commandLines(b: Buffer): string[] {
  const lines: string[] = [];
  for (const part of b.toString('latin1').split('\r\n')) {
    lines.push(part);
    lines.push(Buffer.from(part, 'latin1').toString('utf8'));
  }
  return lines;
}

describe('mutated transcripts', () => {
  it('has seeds', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(5);
    expect(seeds.every((s) => s.length > 0)).toBe(true);
  });

  it('parseCommand answers every line of a mutated conversation', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 8 }), (seed, ms) => {
        for (const line of commandLines(mutate(seed, ms))) checkParse(line);
      }),
      { numRuns: runs(400) },
    );
  }, TIMEOUT);

  it('the DATA decoder handles a mutated conversation body split anywhere', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 8 }), cutsArb, (seed, ms, cuts) => {
        const data = mutate(seed, ms);
        // From the first DATA command on, as the session would hand it over (or the whole stream).
        const at = data.indexOf('DATA\r\n');
        checkDecoder(at >= 0 ? data.subarray(at + 6) : data, cuts);
      }),
      { numRuns: runs(400) },
    );
  }, TIMEOUT);
});
