// The dnsbl check against real DNS lists served by dnsmasq; failures (silence, SERVFAIL) come from
// the scripted DNS server, which also shows the exact question names sent.
import type { DecodedPacket } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle, ScriptedDns } from '../../../test/harness/index.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Check, PhaseContext, SessionFacts } from '../../pipeline/types.js';
import { dnsSchema } from '../../platform/dns/config.js';
import { createResolver } from '../../platform/dns/resolver.js';
import type { Domain } from '../../smtp/address.js';
import { formatReply } from '../../smtp/reply.js';
import { dnsblSchema } from './config.js';
import { dnsbl } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

function resolverFor(server: string, timeout = '2s') {
  const cfg = dnsSchema.parse({ servers: [server], timeout, tries: 1, cache: { maxEntries: 0 } });
  return createResolver({ ...cfg, servers: [server] });
}

function check(config: Record<string, unknown>, server = dns.server): Check {
  return dnsbl(dnsblSchema.parse(config), { resolver: resolverFor(server) });
}

const session = (clientIp: string) => ({ id: 's', clientIp, clientPort: 40000, localIp: '127.0.0.1', localPort: 25 });

async function connect(c: Check, clientIp: string, facts: SessionFacts = {}) {
  const ctx: PhaseContext = { session: session(clientIp), facts, tx: { authResults: [] }, isLocal: () => false };
  const findings = (await c.open(session(clientIp)).connect?.(ctx, AbortSignal.timeout(10_000))) ?? [];
  return { findings, facts };
}

const symbolsOf = (f: readonly { symbol: string }[]): string[] => f.map((x) => x.symbol);

beforeAll(async () => {
  dns = await startDnsmasq({
    dnsbl: [
      { zone: 'zen.test', listed: [{ ip: '127.0.0.5', answer: '127.0.0.4', txt: 'Listed: see https://lists.example/q/127.0.0.5 \u00e9t\u00e9' }, { ip: '127.0.0.6', answer: '127.0.0.10' }, { ip: '127.0.0.9', answer: ['127.0.0.2', '127.0.0.3'] }] },
      { zone: 'bb.test', listed: [{ ip: '127.0.0.5' }, { ip: '127.0.0.7' }] },
      { zone: 'wl.test', listed: [{ ip: '127.0.0.8', answer: '127.0.10.2' }, { ip: '127.0.0.7', answer: '127.0.10.0' }] },
      { zone: 'hijacked.test', listed: [{ ip: '127.0.0.5', answer: '192.0.2.80' }] },
      { zone: 'six.test', listed: [{ ip: '::1' }] },
    ],
    localSuffixes: ['test'],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

describe('dnsbl against dnsmasq lists', () => {
  it('reports a listing whose answer matches the filter, with the list TXT made printable in the detail', async () => {
    const { findings, facts } = await connect(check({ sites: ['zen.test=127.0.0.[2..11]*2'] }), '127.0.0.5');
    expect(findings).toEqual([{ symbol: 'DNSBL_ZEN_TEST', detail: '127.0.0.5 listed by zen.test=127.0.0.[2..11]*2: 127.0.0.4 "Listed: see https://lists.example/q/127.0.0.5 ?t?"' }]);
    expect(facts.allowlisted).toBeUndefined();
  });

  it('filters out a listing whose answer does not match, and reports nothing for an unlisted client', async () => {
    const c = check({ sites: ['zen.test=127.0.0.[2;4]*2'] });
    expect((await connect(c, '127.0.0.6')).findings).toEqual([]);
    expect((await connect(c, '127.0.0.200')).findings).toEqual([]);
  });

  it('counts a site once however many of its answers match', async () => {
    const { findings } = await connect(check({ sites: ['zen.test*2'], threshold: 3 }), '127.0.0.9');
    expect(symbolsOf(findings)).toEqual(['DNSBL_ZEN_TEST']);
    expect(findings[0]?.detail).toMatch(/: 127\.0\.0\.[23], 127\.0\.0\.[23]$/);
  });

  it('sums weights across lists: at the threshold DNSBL_THRESHOLD names the heaviest list', async () => {
    const c = check({ sites: ['zen.test=127.0.0.[2..11]*2', 'bb.test', { site: 'zen.test=127.0.0.4', name: 'DNSBL_ZEN_XBL' }], threshold: 4 });
    const { findings } = await connect(c, '127.0.0.5');
    expect(symbolsOf(findings)).toEqual(['DNSBL_ZEN_TEST', 'DNSBL_BB_TEST', 'DNSBL_ZEN_XBL', 'DNSBL_THRESHOLD']);
    expect(findings[3]?.detail).toBe('[127.0.0.5] blocked using zen.test; score 4 >= 4: zen.test=127.0.0.[2..11]*2, bb.test*1, zen.test=127.0.0.4*1');
    // One weight less and it is only score.
    expect(symbolsOf((await connect(check({ sites: ['zen.test=127.0.0.[2..11]*2', 'bb.test'], threshold: 4 }), '127.0.0.5')).findings)).not.toContain('DNSBL_THRESHOLD');
  });

  it('rejects at connect with 554 5.7.1 naming the client and the list, through the pipeline', async () => {
    const c = check({ sites: ['zen.test*3', 'bb.test*2'] });
    const checks = [{ check: c, observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({}));
    const p = new PipelineSession({ checks, policy, isLocal: (_d: Domain) => false }, session('127.0.0.5'));
    const o = await p.connect(AbortSignal.timeout(10_000));
    expect(o.kind).toBe('reject');
    if (o.kind !== 'reject') return;
    expect(o.because.symbol).toBe('DNSBL_THRESHOLD');
    expect(formatReply(decisionReply(policy, 'reject', o.because, 'connect'))).toBe('554 5.7.1 Service unavailable; client [127.0.0.5] blocked using zen.test\r\n');
    // Site symbols score their weight when the connection goes on.
    expect(o.findings.filter((f) => f.symbol.startsWith('DNSBL_') && f.symbol !== 'DNSBL_THRESHOLD').map((f) => [f.symbol, f.score])).toEqual([['DNSBL_ZEN_TEST', 3], ['DNSBL_BB_TEST', 2]]);
  });

  it('shows the reply name, never a zone that carries a key', async () => {
    const c = check({ sites: [{ site: 'zen.test*3', reply: 'zen.spamhaus.org' }] });
    const { findings } = await connect(c, '127.0.0.5');
    expect(symbolsOf(findings)).toEqual(['DNSBL_ZEN_SPAMHAUS_ORG', 'DNSBL_THRESHOLD']);
    expect(JSON.stringify(findings)).not.toContain('zen.test');
    expect(c.symbols.map((s) => s.description).join(' ')).not.toContain('zen.test');
  });

  it('a DNSWL hit lowers the sum and at the allowlist threshold sets the allowlisted fact', async () => {
    const c = check({ sites: ['zen.test*3', 'wl.test=127.0.[0..255].[1..3]*-2', 'bb.test'] });
    const listedAndAllowed = await connect(c, '127.0.0.8');
    expect(listedAndAllowed.findings).toEqual([{ symbol: 'DNSWL_WL_TEST', detail: '127.0.0.8 allowlisted by wl.test=127.0.[0..255].[1..3]*-2: 127.0.10.2' }]);
    expect(listedAndAllowed.facts.allowlisted).toEqual({ by: 'dnswl', detail: 'score -2 <= -1: wl.test=127.0.[0..255].[1..3]*-2' });
    expect(c.symbols.find((s) => s.name === 'DNSWL_WL_TEST')?.score).toBe(-2);
    // 127.0.0.7: bb.test lists it (+1) and wl.test answers 127.0.10.0, outside the filter: no allowlisting.
    const other = await connect(c, '127.0.0.7');
    expect(symbolsOf(other.findings)).toEqual(['DNSBL_BB_TEST']);
    expect(other.facts.allowlisted).toBeUndefined();
    // In observe mode the fact is not set: observing must not change what later checks do.
    expect((await connect(check({ sites: ['wl.test*-2'], observe: true }), '127.0.0.8')).facts.allowlisted).toBeUndefined();
  });

  it('does not look up a client the operator allowlisted (sender-lists runs first)', async () => {
    const facts: SessionFacts = { allowlisted: { by: 'sender-lists', detail: 'client 127.0.0.5' } };
    expect((await connect(check({ sites: ['zen.test*3'] }), '127.0.0.5', facts)).findings).toEqual([]);
  });

  it('ignores a list that answers outside 127.0.0.0/8 (RFC 5782) and says so in DNSBL_ERROR', async () => {
    const { findings } = await connect(check({ sites: ['hijacked.test*5', 'bb.test'] }), '127.0.0.5');
    expect(findings).toEqual([
      { symbol: 'DNSBL_BB_TEST', detail: '127.0.0.5 listed by bb.test*1: 127.0.0.2' },
      { symbol: 'DNSBL_ERROR', detail: 'skipped: hijacked.test answered 192.0.2.80, outside 127.0.0.0/8: ignored (broken or hijacked list)', transient: false },
    ]);
  });

  it('looks IPv6 clients up by reversed nibbles', async () => {
    const { findings } = await connect(check({ sites: ['six.test*3'] }), '::1');
    expect(symbolsOf(findings)).toEqual(['DNSBL_SIX_TEST', 'DNSBL_THRESHOLD']);
    expect(findings[1]?.detail).toMatch(/^\[::1\] blocked using six\.test;/);
  });
});

describe('dnsbl question names and failures (scripted DNS)', () => {
  /** Listed (127.0.0.2) under list.test, silent under slow.test, SERVFAIL under fail.test, NXDOMAIN elsewhere. */
  const script = (q: DecodedPacket): Buffer[] => {
    const name = q.questions?.[0]?.name ?? '';
    const type = q.questions?.[0]?.type;
    if (name.endsWith('.slow.test')) return [];
    if (name.endsWith('.fail.test')) return [replyTo(q, { rcode: 'SERVFAIL' })];
    if (name.endsWith('.list.test') && type === 'A') return [replyTo(q, { answers: [{ type: 'A', name, ttl: 60, data: '127.0.0.2' }] })];
    return [replyTo(q, { rcode: 'NXDOMAIN' })];
  };

  it('sends every zone its query at once, IPv6 as 32 nibbles and IPv4-mapped as IPv4', async () => {
    const s = await startScriptedDns(script);
    scripted.push(s);
    const c = check({ sites: ['list.test', 'other.test'] }, s.server);
    await connect(c, '2001:db8::567:89ab');
    await connect(c, '::ffff:192.0.2.99');
    const asked = s.queries.map((q) => `${q.decoded?.questions?.[0]?.type} ${q.decoded?.questions?.[0]?.name}`);
    expect(asked).toEqual(
      expect.arrayContaining([
        'A b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.list.test',
        'A b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.other.test',
        'TXT b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.list.test',
        'A 99.2.0.192.list.test',
        'A 99.2.0.192.other.test',
      ]),
    );
    // TXT is asked only for the listing zone.
    expect(asked.filter((a) => a.startsWith('TXT'))).toHaveLength(2);
  });

  it('a silent or failing blocklist is skipped: no reject, a zero-score DNSBL_ERROR', async () => {
    const s = await startScriptedDns(script);
    scripted.push(s);
    const c = dnsbl(dnsblSchema.parse({ sites: ['list.test*3', 'slow.test*5', 'fail.test*5'] }), { resolver: resolverFor(s.server, '300ms') });
    const { findings } = await connect(c, '127.0.0.5');
    expect(findings).toEqual([
      { symbol: 'DNSBL_LIST_TEST', detail: '127.0.0.5 listed by list.test*3: 127.0.0.2' },
      { symbol: 'DNSBL_ERROR', detail: 'skipped: slow.test: TIMEOUT; fail.test: SERVFAIL', transient: false },
      { symbol: 'DNSBL_THRESHOLD', detail: '[127.0.0.5] blocked using list.test; score 3 >= 3: list.test*3' },
    ]);
    // Alone, the failed lists never reject.
    const alone = dnsbl(dnsblSchema.parse({ sites: ['slow.test*5', 'fail.test*5'] }), { resolver: resolverFor(s.server, '300ms') });
    expect(symbolsOf((await connect(alone, '127.0.0.5')).findings)).toEqual(['DNSBL_ERROR']);
  });

  it('a failed allowlist makes DNSBL_ERROR transient and holds back a reject it could have prevented', async () => {
    const s = await startScriptedDns(script);
    scripted.push(s);
    const c = dnsbl(dnsblSchema.parse({ sites: ['list.test*3', 'fail.test*-2'] }), { resolver: resolverFor(s.server, '300ms') });
    const { findings, facts } = await connect(c, '127.0.0.5');
    expect(findings).toEqual([
      { symbol: 'DNSBL_LIST_TEST', detail: '127.0.0.5 listed by list.test*3: 127.0.0.2' },
      { symbol: 'DNSBL_ERROR', detail: 'skipped: fail.test: SERVFAIL (allowlist weight -2 unknown)', transient: true },
    ]);
    expect(facts.allowlisted).toBeUndefined();
    // A sum the allowlist could not have brought under the threshold still rejects.
    const heavy = dnsbl(dnsblSchema.parse({ sites: ['list.test*6', 'fail.test*-2'] }), { resolver: resolverFor(s.server, '300ms') });
    expect(symbolsOf((await connect(heavy, '127.0.0.5')).findings)).toEqual(['DNSBL_LIST_TEST', 'DNSBL_ERROR', 'DNSBL_THRESHOLD']);
    // Through the pipeline: no connect reject, and a later score-based reject becomes a defer.
    const checks = [{ check: c, observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({ actions: { reject: 3 } }));
    const p = new PipelineSession({ checks, policy, isLocal: () => false }, session('127.0.0.5'));
    expect((await p.connect(AbortSignal.timeout(10_000))).kind).toBe('continue');
    const { messageView } = await import('../../pipeline/message.js');
    const v = await p.data(messageView(Buffer.from('Subject: x\r\n\r\nx\r\n'), 17, async function* () {}), { from: null, recipients: [] }, AbortSignal.timeout(5000));
    expect(v.action).toBe('defer');
    expect(v.reason).toMatch(/dnsbl could not decide \(DNSBL_ERROR\)/);
  });
});
