import { describe, expect, it } from 'vitest';
import { splitDelimited, translatePerl } from './regex.js';

const re = (p: string, flags = ''): RegExp => {
  const t = translatePerl(p, flags);
  if (!t.ok) throw new Error(`${t.problem}: ${t.detail}`);
  return new RegExp(t.source, t.flags);
};
const refused = (p: string, flags = ''): string => {
  const t = translatePerl(p, flags);
  return t.ok ? 'ok' : t.problem;
};

describe('Perl regexes in JavaScript', () => {
  it('splits SA delimiters: /re/flags, m{re}, m!re! and what follows', () => {
    expect(splitDelimited('/a\\/b/i [if-unset: x]')).toEqual({ pattern: 'a\\/b', flags: 'i', rest: '[if-unset: x]' });
    expect(splitDelimited('m{a{2}b}is')).toEqual({ pattern: 'a{2}b', flags: 'is', rest: '' });
    expect(splitDelimited('m!x/y!')).toEqual({ pattern: 'x/y', flags: '', rest: '' });
    expect(splitDelimited('no slashes')).toBeNull();
    expect(splitDelimited('/unterminated')).toBeNull();
  });

  it('keeps Perl $ and . semantics: $ before a final newline, . never across one', () => {
    expect(re('foo$').test('foo\n')).toBe(true);
    expect(re('foo$').test('foo\nbar')).toBe(false);
    expect(re('^bar', 'm').test('foo\nbar')).toBe(true);
    expect(re('a.b').test('a\nb')).toBe(false);
    expect(re('a.b').test('a\rb')).toBe(true);
    expect(re('a.b', 's').test('a\nb')).toBe(true);
  });

  it('translates \\A \\z \\Z \\h \\Q…\\E, octal and \\x{…} escapes, POSIX classes and a leading (?i)', () => {
    expect(re('\\Afoo').test('foo')).toBe(true);
    expect(re('\\Afoo').test('xfoo')).toBe(false);
    expect(re('foo\\z').test('foo\n')).toBe(false);
    expect(re('foo\\Z').test('foo\n')).toBe(true);
    expect(re('a\\hb').test('a\tb')).toBe(true);
    expect(re('\\Qa.b*\\E').test('a.b*')).toBe(true);
    expect(re('\\Qa.b*\\E').test('axbb')).toBe(false);
    expect(re('\\101').test('A')).toBe(true);
    expect(re('\\x{263a}').test('\u263a')).toBe(true);
    expect(re('[[:digit:]]+x').test('42x')).toBe(true);
    expect(re('(?i)viagra').test('VIAGRA')).toBe(true);
    expect(re('[]a]').test(']')).toBe(true);
    expect(re('(?P<w>ab)(?P=w)').test('abab')).toBe(true);
  });

  it('ignores whitespace and comments under /x', () => {
    expect(re('a b  # comment\n c', 'x').test('abc')).toBe(true);
    expect(re('a\\ b', 'x').test('a b')).toBe(true);
  });

  it('matches \\xHH octet patterns against UTF-8 octets (marks them bytes)', () => {
    const t = translatePerl('caf\\xc3\\xa9', '');
    expect(t.ok && t.bytes).toBe(true);
  });

  it('refuses what JavaScript cannot mean: possessive, atomic, recursion, \\G, mid-pattern modifiers', () => {
    expect(refused('a++b')).toBe('regex-possessive');
    expect(refused('a{2,}+')).toBe('regex-possessive');
    expect(refused('(?>ab)')).toBe('regex-atomic');
    expect(refused('(a(?R)?b)')).toBe('regex-feature');
    expect(refused('\\Gfoo')).toBe('regex-feature');
    expect(refused('foo(?i)bar')).toBe('regex-feature');
    expect(refused('(?i:bar)')).toBe('regex-feature');
    expect(refused('(?i:bar)', 'i')).toBe('ok');
    expect(refused('a+?b')).toBe('ok');
    expect(refused('(unclosed')).toBe('regex-invalid');
  });
});
