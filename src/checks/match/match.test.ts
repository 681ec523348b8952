import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainList, domainList } from './domains.js';
import { clientNetwork, NetworkList, networkList, parseNetwork } from './networks.js';

describe('network lists', () => {
  it('matches IPv4 and IPv6 addresses and ranges', () => {
    const l = new NetworkList(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '::1']);
    expect(l.contains('192.0.2.200')).toBe(true);
    expect(l.contains('192.0.3.1')).toBe(false);
    expect(l.contains('198.51.100.7')).toBe(true);
    expect(l.contains('198.51.100.8')).toBe(false);
    expect(l.contains('2001:db8:ffff::1')).toBe(true);
    expect(l.contains('2001:db9::1')).toBe(false);
    expect(l.contains('::1')).toBe(true);
    expect(l.contains('not an ip')).toBe(false);
  });

  it('treats an IPv4-mapped IPv6 client and entry as the IPv4 address they map', () => {
    const v4 = new NetworkList(['10.0.0.0/8']);
    expect(v4.contains('::ffff:10.1.2.3')).toBe(true);
    expect(v4.contains('::ffff:11.1.2.3')).toBe(false);
    const mapped = new NetworkList(['::ffff:10.0.0.0/104']);
    expect(mapped.contains('10.200.0.1')).toBe(true);
    expect(mapped.contains('::ffff:10.200.0.1')).toBe(true);
    expect(parseNetwork('::ffff:192.0.2.1')?.[1]).toBe(32);
  });

  it('refuses what is not four-part decimal IPv4 or valid IPv6, or a prefix out of range', () => {
    for (const bad of ['127.1', '0x7f.0.0.1', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', 'fe80::1%eth0', 'example.com', '']) {
      expect(parseNetwork(bad), bad).toBeNull();
    }
    const schema = z.object({ nets: networkList('x') });
    const r = schema.safeParse({ nets: ['10.0.0.0/8', '300.1.1.1'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['nets', 1]);
  });

  it('reduces a client to its network for keys, IPv4-mapped as IPv4', () => {
    const p = { ipv4: 24, ipv6: 64 };
    expect(clientNetwork('192.0.2.77', p)).toBe('192.0.2.0/24');
    expect(clientNetwork('::ffff:192.0.2.77', p)).toBe('192.0.2.0/24');
    expect(clientNetwork('2001:db8:1:2:3:4:5:6', p)).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('192.0.2.77', { ipv4: 32, ipv6: 128 })).toBe('192.0.2.77/32');
  });
});

describe('domain lists', () => {
  it('matches a domain exactly and ".domain" entries as its subdomains only', () => {
    const l = new DomainList(['Example.COM', '.partner.test']);
    expect(l.matches('example.com')).toBe(true);
    expect(l.matches('mail.example.com')).toBe(false);
    expect(l.matches('a.partner.test')).toBe(true);
    expect(l.matches('a.b.partner.test')).toBe(true);
    expect(l.matches('partner.test')).toBe(false);
    expect(l.matches('evilpartner.test')).toBe(false);
  });

  it('canonicalises IDN entries to A-labels and refuses non-domains', () => {
    expect(new DomainList(['bücher.example']).matches('xn--bcher-kva.example')).toBe(true);
    const schema = z.object({ d: domainList('x') });
    expect(schema.safeParse({ d: ['ok.example', '[192.0.2.1]'] }).success).toBe(false);
    expect(schema.safeParse({ d: ['bad..example'] }).success).toBe(false);
  });
});
