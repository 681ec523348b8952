import { describe, expect, it } from 'vitest';
import { DotStuffer, dotStuff } from './dot-stuff.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const s = (x: Buffer): string => x.toString('latin1');

function stuffChunks(chunks: string[]): string {
  const d = new DotStuffer();
  return chunks.map((c) => s(d.push(b(c)))).join('') + s(d.end());
}

describe('dot-stuffing (RFC 5321 §4.5.2)', () => {
  it('doubles a dot that starts a line, and only there', () => {
    expect(s(dotStuff(b('Subject: x\r\n\r\n.hidden\r\na.b\r\n...\r\n')))).toBe('Subject: x\r\n\r\n..hidden\r\na.b\r\n....\r\n.\r\n');
  });

  it('stuffs a dot at the very start of the body', () => {
    expect(s(dotStuff(b('.start\r\n')))).toBe('..start\r\n.\r\n');
  });

  it('stuffs lines that are only "." so they cannot end the message', () => {
    expect(s(dotStuff(b('a\r\n.\r\nb\r\n.\r\n')))).toBe('a\r\n..\r\nb\r\n..\r\n.\r\n');
  });

  it('stuffs a dot that starts a chunk after a chunk ending in CRLF', () => {
    expect(stuffChunks(['line one\r\n', '.\r\n', 'x\r\n'])).toBe('line one\r\n..\r\nx\r\n.\r\n');
  });

  it('stuffs a dot after a CRLF split between chunks', () => {
    expect(stuffChunks(['a\r', '\n.b\r\n'])).toBe('a\r\n..b\r\n.\r\n');
    expect(stuffChunks(['a\r\n', '', '.b\r\n'])).toBe('a\r\n..b\r\n.\r\n');
  });

  it('does not stuff a dot that continues a line across chunks', () => {
    expect(stuffChunks(['abc', '.def\r\n'])).toBe('abc.def\r\n.\r\n');
  });

  it('gives the same bytes whatever the chunking', () => {
    const body = '.a\r\n..b\r\n.\r\nc.\r\n\r\n.\r\n';
    const whole = s(dotStuff(b(body)));
    for (let i = 0; i <= body.length; i++) {
      for (let j = i; j <= body.length; j++) {
        expect(stuffChunks([body.slice(0, i), body.slice(i, j), body.slice(j)])).toBe(whole);
      }
    }
  });

  it('adds CRLF before the final dot when the body does not end with one', () => {
    expect(s(dotStuff(b('no newline')))).toBe('no newline\r\n.\r\n');
    expect(stuffChunks(['ends with cr\r'])).toBe('ends with cr\r\r\n.\r\n');
    expect(stuffChunks(['x\r\n', 'y'])).toBe('x\r\ny\r\n.\r\n');
    expect(stuffChunks(['x\r', '\n'])).toBe('x\r\n.\r\n');
  });

  it('sends a lone "." for an empty body', () => {
    expect(s(dotStuff(b('')))).toBe('.\r\n');
  });

  it('stuffs a dot after a bare LF too (smuggling guard)', () => {
    expect(s(dotStuff(b('a\n.\r\n')))).toBe('a\n..\r\n.\r\n');
  });
});
