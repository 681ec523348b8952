// The resolver against a real dnsmasq on loopback: record types, CNAME chains, NXDOMAIN vs NODATA,
// the cache (TTL countdown on a manual clock, negative caching, clamping), in-flight joining,
// truncation to TCP and REFUSED. Failures no real server shows on demand: resolver-failures.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle } from '../../../test/harness/index.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { dnsSchema } from './config.js';
import { createResolver } from './resolver.js';
import type { ResolverOptions } from './resolver.js';

const L250 = 'x'.repeat(250);
let dns: DnsmasqHandle;
/** A second dnsmasq, authoritative for auth.test only: its negative answers carry an SOA. */
let auth: DnsmasqHandle;

/** Wall time under the test's control; timers (query deadlines) stay real. */
function manualClock(): Clock & { t: number } {
  const c = { t: 5_000_000, now: () => c.t, setTimer: systemClock.setTimer };
  return c;
}

function resolverFor(extra: Record<string, unknown> = {}, more: Partial<ResolverOptions> = {}): ReturnType<typeof createResolver> {
  const cfg = dnsSchema.parse({ servers: [dns.server], timeout: '2s', tries: 1, ...extra });
  return createResolver({ ...cfg, servers: cfg.servers ?? [], ...more });
}

beforeAll(async () => {
  dns = await startDnsmasq(
    {
      localSuffixes: ['test', '127.in-addr.arpa', 'ip6.arpa'],
      localTtl: 300,
      hosts: [
        { name: 'mail.example.test', addresses: ['127.0.0.10', 'fd00::10'] },
        { name: 'v4only.example.test', addresses: ['127.0.0.12'] },
      ],
      ptr: [{ ip: '127.0.0.11', target: 'Relay.Other.TEST' }],
      mx: [
        { domain: 'example.test', exchange: 'mail.example.test', preference: 10 },
        { domain: 'example.test', exchange: 'backup.example.test', preference: 20 },
      ],
      txt: [
        { name: 'example.test', text: 'v=spf1 ip4:127.0.0.10 -all' },
        { name: 'multi.example.test', text: ['one', 'two', 'grüße'] },
        // ~510 octets of TXT: over 512 with the header, under the 1232 of our EDNS size.
        { name: 'mid.example.test', text: [L250, L250] },
        // Two records of ~760 octets: over 1232, so TC even with EDNS.
        { name: 'big.example.test', text: [L250, L250, L250] },
        { name: 'big.example.test', text: [L250, L250, 'y'.repeat(250)] },
      ],
      cname: [
        { name: 'alias.example.test', target: 'alias2.example.test' },
        { name: 'alias2.example.test', target: 'mail.example.test' },
        { name: 'dangling.example.test', target: 'gone.example.test' },
      ],
    },
    { logQueries: true },
  );
  auth = await startDnsmasq({ authZone: { zone: 'auth.test', ttl: 30 }, hosts: [{ name: 'www.auth.test', addresses: ['127.0.0.20'] }] });
});

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('answers from dnsmasq', () => {
  it('A, AAAA, MX, TXT and addresses() as typed records with their TTL', async () => {
    const r = resolverFor();
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.10'], ttl: 300 });
    expect(await r.lookup('mail.example.test', 'AAAA')).toEqual({ kind: 'ok', records: ['fd00::10'], ttl: 300 });
    const mx = await r.mx('example.test');
    expect(mx.kind === 'ok' && [...mx.records].sort((a, b) => a.priority - b.priority)).toEqual([
      { exchange: 'mail.example.test', priority: 10 },
      { exchange: 'backup.example.test', priority: 20 },
    ]);
    expect(await r.lookup('example.test', 'TXT')).toMatchObject({ kind: 'ok', records: [['v=spf1 ip4:127.0.0.10 -all']] });
    expect(await r.lookup('multi.example.test', 'TXT')).toMatchObject({ kind: 'ok', records: [['one', 'two', 'grüße']] });
    expect(await r.addresses('mail.example.test')).toMatchObject({ kind: 'ok', records: ['127.0.0.10', 'fd00::10'] });
    expect(await r.addresses('v4only.example.test')).toEqual({ kind: 'ok', records: ['127.0.0.12'], ttl: 300 });
    expect(await r.addresses('nope.example.test')).toMatchObject({ kind: 'none', reason: 'nxdomain' });
  });

  it('PTR for IPv4 and IPv6 (nibbles), lower-cased, without the trailing dot', async () => {
    const r = resolverFor();
    expect(await r.reverse('127.0.0.10')).toMatchObject({ kind: 'ok', records: ['mail.example.test'] });
    expect(await r.reverse('127.0.0.11')).toMatchObject({ kind: 'ok', records: ['relay.other.test'] });
    expect(await r.reverse('fd00::10')).toMatchObject({ kind: 'ok', records: ['mail.example.test'] });
    expect(await r.reverse('::ffff:127.0.0.10')).toMatchObject({ kind: 'ok', records: ['mail.example.test'] });
    expect(await r.reverse('127.0.0.99')).toMatchObject({ kind: 'none', reason: 'nxdomain' });
    expect(await r.reverse('not-an-ip')).toEqual({ kind: 'error', code: 'BADNAME' });
  });

  it('follows a CNAME chain to the records; asked for CNAME, gives the alias target', async () => {
    const r = resolverFor();
    expect(await r.lookup('Alias.Example.Test.', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.10'], ttl: 300 });
    expect(await r.lookup('alias.example.test', 'CNAME')).toMatchObject({ kind: 'ok', records: ['alias2.example.test'] });
    expect(await r.lookup('dangling.example.test', 'A')).toMatchObject({ kind: 'none' });
  });

  it('tells NXDOMAIN from NODATA', async () => {
    const r = resolverFor();
    expect(await r.lookup('nope.example.test', 'A')).toMatchObject({ kind: 'none', reason: 'nxdomain' });
    expect(await r.lookup('mail.example.test', 'TXT')).toMatchObject({ kind: 'none', reason: 'nodata' });
    expect(await r.lookup('mail.example.test', 'MX')).toMatchObject({ kind: 'none', reason: 'nodata' });
  });

  it('a name outside dnsmasq\'s local suffixes is REFUSED, and that server is not asked again', async () => {
    const r = resolverFor({ tries: 3 });
    expect(await r.lookup('example.com', 'A')).toEqual({ kind: 'error', code: 'REFUSED' });
    expect(r.stats().queries).toBe(1);
  });

  it('refuses invalid names with BADNAME without sending anything', async () => {
    const r = resolverFor();
    for (const bad of ['a..example.test', `${'a'.repeat(64)}.test`, `${'abcdefghi.'.repeat(26)}test`, 'grüße.test', '', 'a b.test']) {
      expect(await r.lookup(bad, 'A'), bad).toEqual({ kind: 'error', code: 'BADNAME' });
    }
    expect(r.stats().queries).toBe(0);
  });
});

describe('truncation → TCP (RFC 7766)', () => {
  it('over 512 octets without EDNS, dnsmasq answers TC over UDP and the resolver asks again over TCP', async () => {
    const r = resolverFor({}, { udpPayloadSize: 0 });
    const a = await r.lookup('mid.example.test', 'TXT');
    expect(a).toMatchObject({ kind: 'ok', records: [[L250, L250]] });
    expect(r.stats().queries).toBe(2);
  });

  it('the same answer fits our 1232-octet EDNS size: one UDP query', async () => {
    const r = resolverFor();
    expect(await r.lookup('mid.example.test', 'TXT')).toMatchObject({ kind: 'ok', records: [[L250, L250]] });
    expect(r.stats().queries).toBe(1);
  });

  it('over the EDNS size the answer comes whole over TCP', async () => {
    const r = resolverFor();
    const a = await r.lookup('big.example.test', 'TXT');
    expect(a.kind).toBe('ok');
    const records = a.kind === 'ok' ? a.records.map((t) => t.join('')).sort() : [];
    expect(records).toEqual([L250.repeat(3), L250 + L250 + 'y'.repeat(250)]);
    expect(r.stats().queries).toBe(2);
  });
});

describe('cache', () => {
  it('counts a positive TTL down on the clock and asks again after expiry', async () => {
    const clock = manualClock();
    const r = resolverFor({}, { clock });
    expect(await r.lookup('mail.example.test', 'A')).toMatchObject({ ttl: 300 });
    clock.t += 100_000;
    expect(await r.lookup('MAIL.example.test.', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.10'], ttl: 200 });
    expect(r.stats()).toMatchObject({ queries: 1, cacheHits: 1 });
    clock.t += 200_000;
    expect(await r.lookup('mail.example.test', 'A')).toMatchObject({ ttl: 300 });
    expect(r.stats()).toMatchObject({ queries: 2, cacheHits: 1 });
  });

  it('clamps TTLs to [minTtl, maxTtl]', async () => {
    const r = resolverFor({ cache: { maxTtl: '1m', minTtl: '45s' } });
    expect(await r.lookup('mail.example.test', 'A')).toMatchObject({ ttl: 60 });
    const a = resolverFor({ servers: [auth.server], cache: { maxTtl: '1m', minTtl: '45s' } });
    expect(await a.lookup('nope.auth.test', 'A')).toMatchObject({ kind: 'none', ttl: 45 });
  });

  it('caches NXDOMAIN for the SOA TTL of the authority section (RFC 2308 §5), NODATA too', async () => {
    const clock = manualClock();
    const r = resolverFor({ servers: [auth.server], cache: { negativeTtl: '10m' } }, { clock });
    expect(await r.lookup('www.auth.test', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.20'], ttl: 30 });
    expect(await r.lookup('nope.auth.test', 'A')).toEqual({ kind: 'none', reason: 'nxdomain', ttl: 30 });
    expect(await r.lookup('www.auth.test', 'MX')).toEqual({ kind: 'none', reason: 'nodata', ttl: 30 });
    clock.t += 10_000;
    expect(await r.lookup('nope.auth.test', 'A')).toEqual({ kind: 'none', reason: 'nxdomain', ttl: 20 });
    expect(r.stats()).toMatchObject({ queries: 3, cacheHits: 1 });
    clock.t += 20_000;
    expect(await r.lookup('nope.auth.test', 'A')).toMatchObject({ kind: 'none', ttl: 30 });
    expect(r.stats().queries).toBe(4);
  });

  it('without an SOA, keeps NXDOMAIN for negativeTtl; the second lookup sends nothing (dnsmasq log)', async () => {
    const r = resolverFor({ cache: { negativeTtl: '7m' } }, { clock: manualClock() });
    const logged = (name: string): number => dns.process.lines().filter((l) => l.includes(`query[A] ${name} from`)).length;
    expect(await r.lookup('neg-cached.example.test', 'A')).toEqual({ kind: 'none', reason: 'nxdomain', ttl: 420 });
    expect(await r.lookup('neg-cached.example.test', 'A')).toEqual({ kind: 'none', reason: 'nxdomain', ttl: 420 });
    // A later query's log line proves the log has caught up with the second lookup.
    expect(await r.lookup('sentinel-after-neg.example.test', 'A')).toMatchObject({ kind: 'none' });
    await dns.process.waitForLine(/query\[A\] sentinel-after-neg\.example\.test from/, 5000);
    expect(logged('neg-cached.example.test')).toBe(1);
    expect(r.stats()).toMatchObject({ queries: 2, cacheHits: 1 });
  });

  it('joins identical lookups in flight: one packet for N callers', async () => {
    const r = resolverFor();
    const answers = await Promise.all(Array.from({ length: 8 }, () => r.lookup('alias.example.test', 'A')));
    for (const a of answers) expect(a).toEqual({ kind: 'ok', records: ['127.0.0.10'], ttl: 300 });
    expect(r.stats()).toMatchObject({ queries: 1, inflightJoins: 7 });
  });

  it('hands out frozen records, so a caller cannot change the cached answer', async () => {
    const r = resolverFor();
    const a = await r.lookup('mail.example.test', 'A');
    expect(a.kind === 'ok' && Object.isFrozen(a.records)).toBe(true);
  });
});
