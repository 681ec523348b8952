import { describe, expect, it } from 'vitest';
import { canonicalIp, formatIpv6, ipv6Bytes, matchesAny, networkKey, parseCidr, type Cidr } from './ip.js';

const cidrs = (...t: string[]): Cidr[] => t.map((c) => parseCidr(c) as Cidr);

describe('client addresses', () => {
  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(canonicalIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(canonicalIp('::FFFF:7f00:a')).toBe('127.0.0.10');
    expect(canonicalIp('0:0:0:0:0:ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(networkKey(canonicalIp('::ffff:192.0.2.77') ?? '')).toBe('192.0.2.0/24');
  });

  it('writes IPv6 in the RFC 5952 form', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:0db8:0000:0001:0000:0000:0000:0000')).toBe('2001:db8:0:1::');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('2001:db8:1:1:1:1:0:1')).toBe('2001:db8:1:1:1:1:0:1'); // a single 0 word is not "::"
    expect(formatIpv6(ipv6Bytes('::ffff:1.2.3.4') as Uint8Array)).toBe('::ffff:102:304');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'example.test', '1.2.3', '1.2.3.256', '01.2.3.4', '::g', '1::2::3']) expect(canonicalIp(bad), bad).toBeNull();
  });

  it('groups IPv4 by /24 and IPv6 by /64', () => {
    expect(networkKey('198.51.100.7')).toBe('198.51.100.0/24');
    expect(networkKey('198.51.100.250')).toBe('198.51.100.0/24');
    expect(networkKey('198.51.101.7')).toBe('198.51.101.0/24');
    expect(networkKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(networkKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(networkKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
  });

  it('matches CIDRs by prefix, a bare address as a host route, mapped addresses as IPv4', () => {
    const list = cidrs('10.0.0.0/8', '192.0.2.128/25', '2001:db8::/32', '127.0.0.1');
    expect(matchesAny('10.200.1.1', list)).toBe(true);
    expect(matchesAny('11.0.0.1', list)).toBe(false);
    expect(matchesAny('192.0.2.200', list)).toBe(true);
    expect(matchesAny('192.0.2.100', list)).toBe(false);
    expect(matchesAny('2001:db8:ffff::1', list)).toBe(true);
    expect(matchesAny('2001:db9::1', list)).toBe(false);
    expect(matchesAny('127.0.0.1', list)).toBe(true);
    expect(matchesAny('127.0.0.2', list)).toBe(false);
    expect(matchesAny('::ffff:10.1.2.3', list)).toBe(true);
    expect(matchesAny('::ffff:10.1.2.3', cidrs('::ffff:0:0/96'))).toBe(false); // counted as IPv4 everywhere
    expect(matchesAny('anything', cidrs('0.0.0.0/0'))).toBe(false);
    expect(matchesAny('8.8.8.8', cidrs('0.0.0.0/0'))).toBe(true);
  });

  it('refuses malformed CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '::1/129', '10.0.0/8', 'x/8', '10.0.0.0/', '/8', '10.0.0.0/8/8']) expect(parseCidr(bad), bad).toBeNull();
    expect(parseCidr('::1/128')?.family).toBe(6);
  });
});
