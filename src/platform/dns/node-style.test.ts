// nodeStyleResolve against the reference it imitates: node's own dns.promises.Resolver (c-ares),
// both asking the same dnsmasq (and, for SERVFAIL and silence, the same scripted server), must give
// the same records and reject with the same codes. That is the contract mailauth 4.x relies on.
import { promises as nodeDns } from 'node:dns';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startBlackHoleDns, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle, ScriptedDns } from '../../../test/harness/index.js';
import { dnsSchema } from './config.js';
import { nodeStyleResolve } from './node-style.js';
import type { NodeStyleResolve } from './node-style.js';
import { createResolver } from './resolver.js';

let dns: DnsmasqHandle;
let auth: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

function ours(server: string, timeout = '2s'): NodeStyleResolve {
  const cfg = dnsSchema.parse({ servers: [server], timeout, tries: 1 });
  return nodeStyleResolve(createResolver({ ...cfg, servers: [server] }));
}

function theirs(server: string, timeout = 2000): NodeStyleResolve {
  const r = new nodeDns.Resolver({ timeout, tries: 1 });
  r.setServers([server]);
  return (name, rrtype = 'A') => r.resolve(name, rrtype);
}

type Outcome = { ok: unknown } | { code: unknown; syscall: unknown; hostname: unknown };

async function outcome(resolve: NodeStyleResolve, name: string, type: string): Promise<Outcome> {
  try {
    const v = await resolve(name, type);
    // MX order within an RRset is not significant (RFC 5321 §5.1 sorts by preference).
    return { ok: type === 'MX' && Array.isArray(v) ? [...(v as { exchange: string }[])].sort((a, b) => a.exchange.localeCompare(b.exchange)) : v };
  } catch (e: unknown) {
    const err = e as { code?: unknown; syscall?: unknown; hostname?: unknown };
    return { code: err.code, syscall: err.syscall, hostname: err.hostname };
  }
}

beforeAll(async () => {
  dns = await startDnsmasq({
    localTtl: 60,
    hosts: [{ name: 'mail.example.test', addresses: ['127.0.0.10', 'fd00::10'] }],
    mx: [
      { domain: 'example.test', exchange: 'mail.example.test', preference: 10 },
      { domain: 'example.test', exchange: 'backup.example.test', preference: 20 },
    ],
    txt: [
      { name: 'example.test', text: 'v=spf1 ip4:127.0.0.10 -all' },
      { name: 'sel1._domainkey.example.test', text: ['v=DKIM1; k=rsa; p=MIIBIjANBgkq', 'hkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
      { name: 'two.example.test', text: 'first record' },
      { name: 'two.example.test', text: 'second record' },
    ],
    cname: [{ name: 'alias.example.test', target: 'mail.example.test' }],
  });
  auth = await startDnsmasq({ authZone: { zone: 'auth.test', ttl: 30, serial: 42 }, hosts: [{ name: 'www.auth.test', addresses: ['127.0.0.20'] }] });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

describe('nodeStyleResolve gives what dns.promises.resolve gives', () => {
  const cases: [string, string][] = [
    ['mail.example.test', 'A'],
    ['mail.example.test', 'AAAA'],
    ['example.test', 'MX'],
    ['example.test', 'TXT'],
    ['sel1._domainkey.example.test', 'TXT'],
    ['two.example.test', 'TXT'],
    ['10.0.0.127.in-addr.arpa', 'PTR'],
    ['alias.example.test', 'CNAME'],
    ['alias.example.test', 'A'],
    ['nope.example.test', 'TXT'],
    ['nope.example.test', 'A'],
    ['mail.example.test', 'TXT'],
    ['mail.example.test', 'MX'],
    ['example.com', 'A'],
  ];
  for (const [name, type] of cases) {
    it(`${type} ${name}`, async () => {
      const expected = await outcome(theirs(dns.server), name, type);
      expect(await outcome(ours(dns.server), name, type)).toEqual(expected);
    });
  }

  it('TXT strings come as string[][] with the chunks unjoined', async () => {
    expect(await ours(dns.server)('sel1._domainkey.example.test', 'TXT')).toEqual([['v=DKIM1; k=rsa; p=MIIBIjANBgkq', 'hkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']]);
  });

  it('SOA as one object with node\'s field names', async () => {
    const expected = await outcome(theirs(auth.server), 'auth.test', 'SOA');
    expect(expected).toMatchObject({ ok: { nsname: 'ns.auth.test', serial: 42, minttl: 30 } });
    expect(await outcome(ours(auth.server), 'auth.test', 'SOA')).toEqual(expected);
  });

  it('ESERVFAIL and ETIMEOUT as node gives them', async () => {
    const fail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    const hole = await startBlackHoleDns();
    scripted.push(fail, hole);
    const servfail = await outcome(theirs(fail.server), 'mail.example.test', 'TXT');
    expect(servfail).toMatchObject({ code: 'ESERVFAIL' });
    expect(await outcome(ours(fail.server), 'mail.example.test', 'TXT')).toEqual(servfail);
    const timeout = await outcome(theirs(hole.server, 200), 'mail.example.test', 'A');
    expect(timeout).toMatchObject({ code: 'ETIMEOUT' });
    expect(await outcome(ours(hole.server, '200ms'), 'mail.example.test', 'A')).toEqual(timeout);
  });

  it('ECONNREFUSED for a port with nobody behind it', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    const dead = `127.0.0.1:${s.address().port}`;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const expected = await outcome(theirs(dead), 'mail.example.test', 'A');
    expect(expected).toMatchObject({ code: 'ECONNREFUSED' });
    expect(await outcome(ours(dead), 'mail.example.test', 'A')).toEqual(expected);
  });

  it('rejects an unknown rrtype, an invalid name and an aborted lookup with node\'s codes', async () => {
    await expect(ours(dns.server)('example.test', 'SRV')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(ours(dns.server)('a..example.test', 'A')).rejects.toMatchObject({ code: 'EBADNAME', syscall: 'queryA' });
    await expect(ours(dns.server)(undefined as unknown as string, 'TXT')).rejects.toMatchObject({ code: 'EBADNAME' });
    const cfg = dnsSchema.parse({ servers: [dns.server] });
    const aborted = nodeStyleResolve(createResolver({ ...cfg, servers: [dns.server] }), AbortSignal.abort());
    await expect(aborted('mail.example.test', 'A')).rejects.toMatchObject({ code: 'ECANCELLED' });
  });

  it('hands out copies of the cached records: changing a result does not change the next one', async () => {
    const cfg = dnsSchema.parse({ servers: [dns.server] });
    const resolver = createResolver({ ...cfg, servers: [dns.server] });
    const resolve = nodeStyleResolve(resolver);
    const first = (await resolve('example.test', 'TXT')) as string[][];
    first[0]?.push('tampered');
    first.push(['extra']);
    expect(await resolve('example.test', 'TXT')).toEqual([['v=spf1 ip4:127.0.0.10 -all']]);
    expect(resolver.stats()).toMatchObject({ queries: 1, cacheHits: 1 });
  });
});
