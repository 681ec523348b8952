import { describe, expect, it } from 'vitest';
import { bounded, decodeEncodedWords } from './summary.js';

describe('decodeEncodedWords (RFC 2047)', () => {
  it('decodes B and Q words in several charsets, joining adjacent words', () => {
    expect(decodeEncodedWords('=?UTF-8?B?SGVsbG8gd8O2cmxk?=')).toBe('Hello wörld');
    expect(decodeEncodedWords('=?iso-8859-1?q?caf=E9_cr=E8me?= ok')).toBe('café crème ok');
    expect(decodeEncodedWords('=?UTF-8?Q?a?= =?UTF-8?Q?b?=  c')).toBe('ab  c'); // §6.2: the space between words goes
    expect(decodeEncodedWords('=?UTF-8*en?Q?hi?=')).toBe('hi'); // RFC 2231 language suffix
    expect(decodeEncodedWords('=?windows-1252?Q?=80?=')).toBe('€');
  });

  it('keeps words it cannot decode as written', () => {
    expect(decodeEncodedWords('=?x-unknown?Q?abc?=')).toBe('=?x-unknown?Q?abc?=');
    expect(decodeEncodedWords('=?UTF-8?B?not base64!?=')).toBe('=?UTF-8?B?not base64!?=');
    expect(decodeEncodedWords('plain text')).toBe('plain text');
  });
});

describe('bounded', () => {
  it('turns control characters into spaces and cuts long texts by code point', () => {
    expect(bounded('a\r\nb\u0000c\u001b[31m', 100)).toBe('a b c [31m');
    expect(bounded('😀'.repeat(10), 5)).toBe(`${'😀'.repeat(4)}…`);
  });
});
