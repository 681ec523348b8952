import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dnsSchema } from './config.js';
import { parseResolvConf, systemServers } from './resolv-conf.js';

describe('dns config slice', () => {
  it('has defaults for everything but the servers', () => {
    expect(dnsSchema.parse({})).toEqual({
      timeout: 5000,
      tries: 2,
      cache: { maxEntries: 10_000, minTtl: 0, maxTtl: 86_400_000, negativeTtl: 60_000 },
      dnssec: 'off',
    });
  });

  it('trusts the AD bit only of loopback servers given explicitly (RFC 4035 §4.9.3)', () => {
    expect(dnsSchema.parse({ servers: ['127.0.0.1:53', '[::1]:53'], dnssec: 'trusted' }).dnssec).toBe('trusted');
    for (const bad of [{ dnssec: 'trusted' }, { servers: ['127.0.0.1:53', '192.0.2.53:53'], dnssec: 'trusted' }]) {
      const r = dnsSchema.safeParse(bad);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['dnssec']);
    }
  });

  it('takes IPv4 and IPv6 servers with ports and refuses names', () => {
    expect(dnsSchema.parse({ servers: ['127.0.0.1:53', '[::1]:5353'] }).servers).toEqual(['127.0.0.1:53', '[::1]:5353']);
    const bad = dnsSchema.safeParse({ servers: ['dns.example.test:53'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['servers', 0]);
  });

  it('refuses minTtl above maxTtl, with the path', () => {
    const bad = dnsSchema.safeParse({ cache: { minTtl: '2h', maxTtl: '1h' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['cache', 'minTtl']);
  });
});

describe('resolv.conf', () => {
  it('takes the nameserver lines (at most 3) on port 53, IPv6 in brackets, skipping junk', () => {
    const text = ['# comment', 'search example.test', 'nameserver 10.1.2.3', 'nameserver  fd00::53 # v6', 'nameserver not-an-ip', 'options ndots:2', 'nameserver 10.1.2.4', 'nameserver 10.1.2.5'].join('\n');
    expect(parseResolvConf(text)).toEqual(['10.1.2.3:53', '[fd00::53]:53', '10.1.2.4:53']);
  });

  it('falls back to 127.0.0.1:53 when the file names none or cannot be read (resolv.conf(5))', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moat-resolv-'));
    try {
      const file = join(dir, 'resolv.conf');
      writeFileSync(file, 'search example.test\n');
      expect(systemServers(file)).toEqual(['127.0.0.1:53']);
      expect(systemServers(join(dir, 'missing'))).toEqual(['127.0.0.1:53']);
      writeFileSync(file, 'nameserver 127.0.0.53\n');
      expect(systemServers(file)).toEqual(['127.0.0.53:53']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
