// The resolver when servers fail. dnsmasq cannot be made to SERVFAIL, stay silent, send a stray
// answer with the wrong id or question, or reject EDNS on demand, so those come from a scripted
// UDP server (test/harness/scripted-dns.ts); real answers still come from dnsmasq.
import { createSocket } from 'node:dgram';
import type { DecodedPacket } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startBlackHoleDns, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle, ScriptedDns } from '../../../test/harness/index.js';
import { dnsSchema } from './config.js';
import { createResolver } from './resolver.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

async function scriptedServer(...args: Parameters<typeof startScriptedDns>): Promise<ScriptedDns> {
  const s = await startScriptedDns(...args);
  scripted.push(s);
  return s;
}

function resolverFor(servers: string[], extra: Record<string, unknown> = {}): ReturnType<typeof createResolver> {
  const cfg = dnsSchema.parse({ servers, timeout: '2s', tries: 1, ...extra });
  return createResolver({ ...cfg, servers });
}

/** A UDP port on 127.0.0.1 with nobody behind it: the kernel answers ICMP port unreachable. */
async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const answerA = (q: DecodedPacket, ip: string): Buffer =>
  replyTo(q, { answers: [{ type: 'A', name: q.questions?.[0]?.name ?? '', ttl: 60, data: ip }] });

beforeAll(async () => {
  dns = await startDnsmasq({ hosts: [{ name: 'mail.example.test', addresses: ['127.0.0.10'] }], localTtl: 60 });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

describe('server failures', () => {
  it('SERVFAIL is an error, never cached, and that server is not asked again in the same lookup', async () => {
    const s = await scriptedServer((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    const r = resolverFor([s.server], { tries: 3 });
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'SERVFAIL' });
    expect(s.queries).toHaveLength(1);
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'SERVFAIL' });
    expect(s.queries).toHaveLength(2);
    expect(r.stats().cacheHits).toBe(0);
  });

  it('a silent server: TIMEOUT after timeout × tries, each try a fresh id and source port', async () => {
    const hole = await startBlackHoleDns();
    scripted.push(hole);
    const r = resolverFor([hole.server], { timeout: '150ms', tries: 3 });
    const t0 = performance.now();
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'TIMEOUT' });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(3 * 150 - 15);
    expect(elapsed).toBeLessThan(5000);
    expect(hole.queries).toHaveLength(3);
    expect(r.stats()).toMatchObject({ queries: 3, timeouts: 3 });
    const ids = hole.queries.map((q) => q.decoded?.id);
    expect(new Set(ids).size + new Set(hole.queries.map((q) => q.port)).size).toBeGreaterThan(2);
  });

  it('rotates to the second server when the first is silent', async () => {
    const hole = await startBlackHoleDns();
    scripted.push(hole);
    const r = resolverFor([hole.server, dns.server], { timeout: '1s', tries: 2 });
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.10'], ttl: 60 });
    expect(hole.queries).toHaveLength(1);
    expect(r.stats()).toMatchObject({ queries: 2, timeouts: 1 });
  });

  it('a port with nobody behind it is NETWORK at once, and the next server answers', async () => {
    const dead = `127.0.0.1:${await closedUdpPort()}`;
    expect(await resolverFor([dead], { tries: 2 }).lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'NETWORK' });
    const t0 = performance.now();
    expect(await resolverFor([dead, dns.server]).lookup('mail.example.test', 'A')).toMatchObject({ kind: 'ok', records: ['127.0.0.10'] });
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('reports the RCODE a server gave over the timeout of another', async () => {
    const hole = await startBlackHoleDns();
    scripted.push(hole);
    const s = await scriptedServer((q) => [replyTo(q, { rcode: 'REFUSED' })]);
    const r = resolverFor([s.server, hole.server], { timeout: '500ms', tries: 2 });
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'REFUSED' });
    expect(s.queries).toHaveLength(1);
    expect(hole.queries).toHaveLength(2);
  });
});

describe('replies that must not be believed (RFC 5452)', () => {
  it('drops answers with a wrong id or question and takes the right one that follows', async () => {
    const s = await scriptedServer((q) => [
      answerA({ ...q, id: ((q.id ?? 0) + 1) & 0xffff }, '6.6.6.6'),
      replyTo(q, { questionName: 'evil.example.test', answers: [{ type: 'A', name: 'evil.example.test', ttl: 60, data: '6.6.6.7' }] }),
      replyTo(q, { noQuestion: true, answers: [{ type: 'A', name: 'mail.example.test', ttl: 60, data: '6.6.6.8' }] }),
      answerA(q, '127.0.0.99'),
    ]);
    const r = resolverFor([s.server]);
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.99'], ttl: 60 });
    expect(r.stats().dropped).toBe(3);
  });

  it('matches the question name case-insensitively (0x20-style answers are ours)', async () => {
    const s = await scriptedServer((q) => [replyTo(q, { questionName: 'MAIL.Example.TEST', answers: [{ type: 'A', name: 'MAIL.example.test', ttl: 60, data: '127.0.0.98' }] })]);
    expect(await resolverFor([s.server]).lookup('mail.example.test', 'A')).toMatchObject({ kind: 'ok', records: ['127.0.0.98'] });
  });

  it('only stray answers: TIMEOUT, not the spoofed data', async () => {
    const s = await scriptedServer((q) => [answerA({ ...q, id: ((q.id ?? 0) + 7) & 0xffff }, '6.6.6.6')]);
    // The deadline leaves the stray answer time to arrive even on a loaded machine.
    const r = resolverFor([s.server], { timeout: '1s' });
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'TIMEOUT' });
    expect(r.stats().dropped).toBe(1);
  });

  it('a matching but undecodable reply is BADRESPONSE', async () => {
    const s = await scriptedServer((q) => [answerA(q, '127.0.0.1').subarray(0, 40)]);
    expect(await resolverFor([s.server], { timeout: '1s' }).lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'BADRESPONSE' });
  });

  it('a server that rejects EDNS with FORMERR is asked again without OPT (RFC 6891 §7)', async () => {
    const s = await scriptedServer((q) => [(q.additionals ?? []).some((a) => a.type === 'OPT') ? replyTo(q, { rcode: 'FORMERR', noQuestion: true }) : answerA(q, '127.0.0.97')]);
    const r = resolverFor([s.server]);
    expect(await r.lookup('mail.example.test', 'A')).toMatchObject({ kind: 'ok', records: ['127.0.0.97'] });
    expect(s.queries.map((q) => (q.decoded?.additionals ?? []).length)).toEqual([1, 0]);
  });

  it('a TCP answer to another question is BADRESPONSE', async () => {
    const s = await scriptedServer((q, _n, transport) => [transport === 'udp' ? replyTo(q, { truncated: true }) : answerA({ ...q, id: ((q.id ?? 0) + 1) & 0xffff }, '6.6.6.6')], { tcp: true });
    const r = resolverFor([s.server]);
    expect(await r.lookup('mail.example.test', 'A')).toEqual({ kind: 'error', code: 'BADRESPONSE' });
    expect(s.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });
});

describe('AbortSignal', () => {
  it('ends only the aborting caller\'s wait with ABORTED; a joined caller still gets the outcome', async () => {
    const hole = await startBlackHoleDns();
    scripted.push(hole);
    // The abort must end the wait well before the timeout; the margin absorbs a busy CI machine.
    const r = resolverFor([hole.server], { timeout: '2s' });
    const ac = new AbortController();
    const aborted = r.lookup('mail.example.test', 'A', ac.signal);
    const patient = r.lookup('mail.example.test', 'A');
    const t0 = performance.now();
    setImmediate(() => ac.abort());
    expect(await aborted).toEqual({ kind: 'error', code: 'ABORTED' });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(await patient).toEqual({ kind: 'error', code: 'TIMEOUT' });
    expect(r.stats()).toMatchObject({ queries: 1, inflightJoins: 1 });
    expect(await r.lookup('mail.example.test', 'A', AbortSignal.abort())).toEqual({ kind: 'error', code: 'ABORTED' });
    expect(hole.queries).toHaveLength(1);
  });
});
