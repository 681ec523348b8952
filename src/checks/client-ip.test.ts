import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily, plainIp, sameIp } from './client-ip.js';

describe('client addresses', () => {
  it('knows IPv4 and IPv6 as node:net does, without its zone ids and with nothing around the address', () => {
    const texts = ['127.0.0.1', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '::1', '::', '2001:db8::1', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', ':::', '12345::', 'g::1', '::1]:80/x[', '[::1]', 'example.com', ''];
    for (const t of texts) expect(ipFamily(t), t).toBe(isIP(t));
  });

  it('canonicalises: IPv4-mapped IPv6 as IPv4, IPv6 in RFC 5952 form', () => {
    expect(plainIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(plainIp('::FFFF:c000:0201')).toBe('192.0.2.1');
    expect(plainIp('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(plainIp('fe80::1%eth0')).toBe('fe80::1');
    expect(plainIp('mail.example')).toBeNull();
    expect(sameIp('::ffff:127.0.0.5', '127.0.0.5')).toBe(true);
    expect(sameIp('0:0::1', '::1')).toBe(true);
    expect(sameIp('127.0.0.5', '127.0.0.6')).toBe(false);
    expect(sameIp('x', 'x')).toBe(false);
  });
});
