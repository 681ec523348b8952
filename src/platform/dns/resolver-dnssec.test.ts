// The resolver's DNSSEC status against a real validating unbound (test/harness/unbound.ts) with a
// zone signed at test time and dnsmasq for the unsigned rest: AD is believed only with trustAd,
// kept in the cache beside the answer, given for signed denials too, never for unsigned names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, startDnsmasq, startUnbound, stopAll } from '../../../test/harness/index.js';
import type { DnsmasqHandle, UnboundHandle } from '../../../test/harness/index.js';
import { dnsSchema } from './config.js';
import { createResolver } from './resolver.js';

let dns: DnsmasqHandle;
let unbound: UnboundHandle;

function resolver(trustAd: boolean): ReturnType<typeof createResolver> {
  const cfg = dnsSchema.parse({ servers: [unbound.server], timeout: '2s', tries: 1 });
  return createResolver({ ...cfg, servers: cfg.servers ?? [], trustAd });
}

beforeAll(async () => {
  dns = await startDnsmasq({ hosts: [{ name: 'mx.plain.test', addresses: ['127.0.0.20'] }], mx: [{ domain: 'plain.test', exchange: 'mx.plain.test', preference: 10 }] });
  unbound = await startUnbound({
    unsignedServer: dns.server,
    zones: [{ zone: 'signed.test', records: ['@ IN MX 10 mx', 'mx IN A 127.0.0.21', `_25._tcp.mx IN TLSA 3 1 1 ${'cd'.repeat(32)}`] }],
  });
}, 60_000);

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('DNSSEC status (dns.dnssec: trusted)', () => {
  it('marks answers from a signed zone secure, also from the cache', async () => {
    const r = resolver(true);
    const mx = await r.mx('signed.test');
    expect(mx).toMatchObject({ kind: 'ok', records: [{ exchange: 'mx.signed.test', priority: 10 }], secure: true });
    expect(await r.addresses('mx.signed.test')).toMatchObject({ kind: 'ok', records: ['127.0.0.21'], secure: true });
    const tlsa = await r.lookup('_25._tcp.mx.signed.test', 'TLSA');
    expect(tlsa).toMatchObject({ kind: 'ok', secure: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.from('cd'.repeat(32), 'hex') }] });
    const before = r.stats().cacheHits;
    expect(await r.mx('signed.test')).toMatchObject({ kind: 'ok', secure: true });
    expect(r.stats().cacheHits).toBe(before + 1);
  });

  it('marks a signed denial secure and unsigned answers not', async () => {
    const r = resolver(true);
    expect(await r.lookup('_25._tcp.nothere.signed.test', 'TLSA')).toMatchObject({ kind: 'none', reason: 'nxdomain', secure: true });
    const plain = await r.mx('plain.test');
    expect(plain.kind).toBe('ok');
    expect(plain.kind === 'ok' ? plain.secure : 'error').toBeUndefined();
  });

  it('never marks anything secure without trustAd (no AD asked, none believed)', async () => {
    const r = resolver(false);
    const mx = await r.mx('signed.test');
    expect(mx.kind).toBe('ok');
    expect(mx.kind === 'ok' ? mx.secure : 'error').toBeUndefined();
  });
});
