import { describe, expect, it } from 'vitest';
import { normalizeName, reverseName } from './names.js';

describe('normalizeName', () => {
  it('lower-cases and drops one trailing dot', () => {
    expect(normalizeName('Mail.Example.TEST.')).toBe('mail.example.test');
    expect(normalizeName('_dmarc.example.test')).toBe('_dmarc.example.test');
    expect(normalizeName('2.0.0.127.zen.test')).toBe('2.0.0.127.zen.test');
  });

  it('takes labels of 63 octets and names of 253, not one more', () => {
    const l63 = 'a'.repeat(63);
    expect(normalizeName(`${l63}.test`)).toBe(`${l63}.test`);
    expect(normalizeName(`${'a'.repeat(64)}.test`)).toBeNull();
    const name253 = [l63, l63, l63, 'a'.repeat(61)].join('.');
    expect(name253.length).toBe(253);
    expect(normalizeName(name253)).toBe(name253);
    expect(normalizeName(`${name253}.`)).toBe(name253);
    expect(normalizeName(`a${name253}`)).toBeNull();
  });

  it('refuses empty labels, non-ASCII (U-labels), spaces and control characters', () => {
    for (const bad of ['', '.', 'a..b', '.a.b', 'a.b..', 'grüße.test', 'a b.test', 'a\nb.test', 'a\0.test']) {
      expect(normalizeName(bad), JSON.stringify(bad)).toBeNull();
    }
    expect(normalizeName('xn--gre-6ka8i.test')).toBe('xn--gre-6ka8i.test');
  });
});

describe('reverseName', () => {
  it('reverses IPv4 into in-addr.arpa', () => {
    expect(reverseName('127.0.0.10')).toBe('10.0.0.127.in-addr.arpa');
  });

  it('writes IPv6 as 32 nibbles under ip6.arpa (RFC 3596 §2.5)', () => {
    expect(reverseName('2001:db8::567:89ab')).toBe('b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(reverseName('::1')).toBe(`1.${'0.'.repeat(31)}ip6.arpa`);
    expect(reverseName('FD00::10')).toBe(`0.1.${'0.'.repeat(28)}d.f.ip6.arpa`);
    expect(reverseName('fe80::1%eth0')).toBe(`1.${'0.'.repeat(28)}8.e.f.ip6.arpa`);
  });

  it('looks up IPv4-mapped IPv6 (a dual-stack socket) as IPv4', () => {
    expect(reverseName('::ffff:127.0.0.10')).toBe('10.0.0.127.in-addr.arpa');
    expect(reverseName('::ffff:7f00:a')).toBe('10.0.0.127.in-addr.arpa');
  });

  it('gives null for anything that is not an IP', () => {
    for (const bad of ['', 'mail.example.test', '127.0.0', '1.2.3.4.5', '::g', '1::2::3']) expect(reverseName(bad), bad).toBeNull();
  });
});
