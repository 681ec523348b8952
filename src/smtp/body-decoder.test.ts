import { describe, expect, it } from 'vitest';
import { BodyDecoder, type BodyLimits } from './body-decoder.js';

const limits: BodyLimits = { maxMessageSize: 1 << 20, maxHeaderSize: 64 * 1024, maxLineLength: 1000 };

/** Feeds `input` split at the given offsets; returns kept content, done flag, rest and the failure. */
function decode(input: string | Buffer, splits: number[] = [], dotted = true, l: BodyLimits = limits) {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const d = new BodyDecoder(l, dotted);
  const cuts = [0, ...splits, buf.length];
  const out: Buffer[] = [];
  let done = false;
  let rest = '';
  for (let i = 0; i < cuts.length - 1; i++) {
    const chunk = buf.subarray(cuts[i], cuts[i + 1]);
    if (done) {
      rest += chunk.toString('latin1'); // not pushed: the session reads it as commands
      continue;
    }
    const step = d.push(chunk);
    out.push(...step.out);
    done = step.done;
    rest = step.rest?.toString('latin1') ?? '';
  }
  return { content: Buffer.concat(out).toString('latin1'), done, rest, failure: d.failure, d };
}

describe('DATA decoding', () => {
  it('ends only at CRLF.CRLF and keeps the final CRLF of the content', () => {
    const r = decode('Subject: x\r\n\r\nhello\r\n.\r\n');
    expect(r).toMatchObject({ content: 'Subject: x\r\n\r\nhello\r\n', done: true, failure: null });
  });

  it('ends at the marker at every possible split point', () => {
    const msg = 'A: b\r\n\r\nline one\r\n..dot\r\n.\r\nQUIT\r\n';
    for (let i = 1; i < msg.length; i++) {
      for (const j of [i + 1, i + 3]) {
        const r = decode(msg, j < msg.length ? [i, j] : [i]);
        expect(r.content, `split ${i},${j}`).toBe('A: b\r\n\r\nline one\r\n.dot\r\n');
        expect(r.done).toBe(true);
        expect(r.rest).toBe('QUIT\r\n');
      }
    }
  });

  it('returns pipelined input after the end marker', () => {
    expect(decode('x\r\n.\r\nMAIL FROM:<a@b.c>\r\n').rest).toBe('MAIL FROM:<a@b.c>\r\n');
  });

  it('removes exactly one stuffed dot (RFC 5321 4.5.2)', () => {
    expect(decode('..\r\n...x\r\n.\r\n').content).toBe('.\r\n..x\r\n');
  });

  it('accepts an empty message', () => {
    expect(decode('.\r\n')).toMatchObject({ content: '', done: true, failure: null });
  });

  for (const [name, text] of [
    ['\\n.\\n', 'a\r\n\n.\nMAIL FROM:<x@y.z>\r\n'],
    ['\\r.\\r', 'a\r\n\r.\rMAIL FROM:<x@y.z>\r\n'],
    ['\\n.\\r\\n', 'a\n.\r\nMAIL FROM:<x@y.z>\r\n'],
    ['\\r\\n.\\n', 'a\r\n.\nMAIL FROM:<x@y.z>\r\n'],
    ['\\r\\n.\\r', 'a\r\n.\rMAIL FROM:<x@y.z>\r\n'],
    ['bare LF in a line', 'a\nb\r\n.\r\n'],
    ['bare CR in a line', 'a\rb\r\n.\r\n'],
  ] as const) {
    it(`refuses the smuggling ending ${name}, whole or split anywhere`, () => {
      for (let i = 0; i <= text.length; i++) {
        const r = decode(text, i > 0 && i < text.length ? [i] : []);
        expect(r.failure, `split at ${i}`).toBe('bare-newline');
        expect(r.done).toBe(true);
        expect(r.content).not.toContain('MAIL');
      }
    });
  }

  it('notes NUL but reads on to the real end', () => {
    const r = decode('a\r\n\0.\r\nb\r\n.\r\n');
    expect(r.failure).toBe('nul');
    expect(r.done).toBe(true);
    expect(r.content).toBe('');
  });

  it('flags a text line over 1000 octets and still finds the end', () => {
    const r = decode(`${'x'.repeat(999)}\r\n.\r\n`);
    expect(r.failure).toBe('line-too-long');
    expect(r.done).toBe(true);
    expect(decode(`${'x'.repeat(998)}\r\n.\r\n`).failure).toBeNull();
  });

  it('flags an oversized header section and an oversized message', () => {
    const small: BodyLimits = { maxMessageSize: 100, maxHeaderSize: 20, maxLineLength: 1000 };
    expect(decode('A: 1234567890123456789\r\n\r\nx\r\n.\r\n', [], true, small).failure).toBe('header-too-big');
    expect(decode(`A: b\r\n\r\n${'y\r\n'.repeat(50)}.\r\n`, [], true, small).failure).toBe('too-big');
  });

  it('reports 8-bit content', () => {
    expect(decode(Buffer.from('S: \u00e9\r\n\r\n.\r\n', 'utf8')).d.has8bit).toBe(true);
    expect(decode('S: e\r\n\r\n.\r\n').d.has8bit).toBe(false);
  });
});

describe('BDAT decoding', () => {
  it('keeps dots as they are and never ends by itself', () => {
    const r = decode('a\r\n.\r\n..\r\n', [], false);
    expect(r).toMatchObject({ content: 'a\r\n.\r\n..\r\n', done: false, failure: null });
  });

  it('still refuses bare line ends that a downstream could read as a line end', () => {
    expect(decode('a\n.\n', [], false).failure).toBe('bare-newline');
    expect(decode('a\r', [], false).failure).toBeNull();
    expect(decode('a\rx', [1], false).failure).toBe('bare-newline');
  });
});
