import { describe, expect, it } from 'vitest';
import { MAX_LINE, headerField, rfc5322Date, sanitize, truncate, wrap } from './text.js';

const lines = (s: string): string[] => s.split('\r\n');
const octets = (s: string): number => Buffer.byteLength(s);
/** RFC 5322 §2.2.3 unfolding: remove each CRLF that precedes white space. */
const unfold = (s: string): string => s.replace(/\r\n(?=[ \t])/g, '');

describe('sanitize', () => {
  it('turns controls, CR and LF into "?" so foreign text cannot start a new field', () => {
    expect(sanitize('550 bad\r\nBcc: x\x00\x7f\x85', false)).toBe('550 bad??Bcc: x???');
  });
  it('turns tabs into spaces and collapses runs of spaces', () => {
    expect(sanitize(' a\t\t b  c ', false)).toBe('a b c');
  });
  it('keeps UTF-8 only when the report may carry it, and drops bidi overrides either way', () => {
    expect(sanitize('Grüße \u202eevil', true)).toBe('Grüße ?evil');
    expect(sanitize('Grüße', false)).toBe('Gr??e');
  });
  it('makes a lone surrogate visible', () => {
    expect(sanitize('a\ud800b', true)).toBe('a?b');
  });
});

describe('headerField', () => {
  it('leaves a short field on one line', () => {
    expect(headerField('Status', '5.1.1')).toBe('Status: 5.1.1');
  });

  it('folds at white space below 78 octets, and unfolds to the same text', () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const field = headerField('Diagnostic-Code', `smtp; ${text}`);
    expect(lines(field).length).toBeGreaterThan(3);
    for (const l of lines(field)) expect(octets(l)).toBeLessThanOrEqual(78);
    for (const l of lines(field).slice(1)) expect(l.startsWith(' ')).toBe(true);
    expect(unfold(field)).toBe(`Diagnostic-Code: smtp; ${text}`);
  });

  it('cuts a word longer than a line into pieces of at most 998 octets', () => {
    const word = 'x'.repeat(5000);
    const field = headerField('Diagnostic-Code', `smtp; 550 ${word}`);
    for (const l of lines(field)) expect(octets(l)).toBeLessThanOrEqual(MAX_LINE);
    expect(unfold(field).replace(/ /g, '')).toBe(`Diagnostic-Code:smtp;550${word}`);
  });

  it('never cuts inside a UTF-8 sequence', () => {
    const field = headerField('Diagnostic-Code', `smtp; ${'ü'.repeat(1500)}`);
    for (const l of lines(field)) {
      expect(octets(l)).toBeLessThanOrEqual(MAX_LINE);
      expect(l).not.toContain('\ufffd');
    }
  });
});

describe('wrap', () => {
  it('wraps prose with an indent on every line', () => {
    const out = wrap('a '.repeat(100).trim(), 20, '    ');
    for (const l of lines(out)) {
      expect(l.startsWith('    ')).toBe(true);
      expect(l.length).toBeLessThanOrEqual(20);
    }
  });
});

describe('truncate', () => {
  it('marks a cut and stays within the limit', () => {
    const out = truncate('é'.repeat(100), 50);
    expect(octets(out)).toBeLessThanOrEqual(50);
    expect(out.endsWith(' [...]')).toBe(true);
    expect(truncate('short', 50)).toBe('short');
  });
});

describe('rfc5322Date', () => {
  it('writes RFC 5322 §3.3 date-time in UTC', () => {
    expect(rfc5322Date(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))).toBe('Tue, 2 Jan 2024 03:04:05 +0000');
  });
  it('refuses an invalid date rather than writing "NaN"', () => {
    expect(() => rfc5322Date(new Date(NaN))).toThrow(RangeError);
  });
});
