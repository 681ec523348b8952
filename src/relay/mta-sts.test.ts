/** MTA-STS parsing and MX matching (RFC 8461 §3.1, §3.2, §4.1) and MX ordering (RFC 5321 §5.1). */
import { describe, expect, it } from 'vitest';
import { mxMatches, parseStsPolicy, parseStsRecord } from './mta-sts.js';
import { orderExchanges } from './routes.js';

describe('MTA-STS', () => {
  it('reads the TXT record: exactly one v=STSv1 record with an id', () => {
    expect(parseStsRecord(['v=spf1 -all'])).toBe('none');
    expect(parseStsRecord(['v=STSv1; id=20160831085700Z;'])).toEqual({ id: '20160831085700Z' });
    expect(parseStsRecord(['v=STSv1; id=a', 'v=STSv1; id=b'])).toBe('invalid');
    expect(parseStsRecord(['v=STSv1; id=not-alnum!'])).toBe('invalid');
  });

  it('parses a policy and refuses one without version, mode, max_age or mx', () => {
    expect(parseStsPolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n', 'x')).toEqual({
      id: 'x', mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAge: 604800,
    });
    expect(parseStsPolicy('mode: enforce\nmx: a.example\nmax_age: 1\n', 'x')).toBeNull();
    expect(parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 1\n', 'x')).toBeNull();
    expect(parseStsPolicy('version: STSv1\nmode: bogus\nmx: a\nmax_age: 1\n', 'x')).toBeNull();
    expect(parseStsPolicy('version: STSv1\nmode: testing\nmx: a\nmax_age: 9999999999\n', 'x')?.maxAge).toBe(31_557_600);
  });

  it('matches MX names exactly or by one leftmost label for "*."', () => {
    expect(mxMatches('mail.example.com', ['mail.example.com'])).toBe(true);
    expect(mxMatches('MAIL.example.com.', ['mail.example.com'])).toBe(true);
    expect(mxMatches('mx1.example.net', ['*.example.net'])).toBe(true);
    expect(mxMatches('a.b.example.net', ['*.example.net'])).toBe(false);
    expect(mxMatches('example.net', ['*.example.net'])).toBe(false);
    expect(mxMatches('evil-example.net', ['*.example.net'])).toBe(false);
  });
});

describe('MX order', () => {
  it('sorts by preference and shuffles only hosts of equal preference', () => {
    const records = [
      { exchange: 'c', priority: 20 },
      { exchange: 'a1', priority: 10 },
      { exchange: 'a2', priority: 10 },
      { exchange: 'a3', priority: 10 },
    ];
    const seen = new Set<string>();
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 40; i++) {
      const order = orderExchanges(records, random);
      expect(order.at(-1)).toBe('c');
      expect(order.slice(0, 3).sort()).toEqual(['a1', 'a2', 'a3']);
      seen.add(order.join(','));
    }
    // All six orders of the three equal hosts come up.
    expect(seen.size).toBe(6);
  });
});
