// The helo check against names served by dnsmasq; a DNS failure from the scripted server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle, ScriptedDns } from '../../../test/harness/index.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Check, Finding, PhaseContext, SessionFacts } from '../../pipeline/types.js';
import { dnsSchema } from '../../platform/dns/config.js';
import { createResolver } from '../../platform/dns/resolver.js';
import type { Domain } from '../../smtp/address.js';
import { formatReply } from '../../smtp/reply.js';
import { heloSchema } from './config.js';
import { classifyHelo } from './helo-name.js';
import { helo } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];
const isLocal = (d: Domain): boolean => d === 'example.test';

function check(config: Record<string, unknown> = {}, server = dns.server, timeout = '2s'): Check {
  const cfg = dnsSchema.parse({ servers: [server], timeout, tries: 1, cache: { maxEntries: 0 } });
  return helo(heloSchema.parse(config), { resolver: createResolver({ ...cfg, servers: [server] }), hostname: 'MX.Moat.test' });
}

const session = (clientIp: string, localIp = '127.0.0.1') => ({ id: 's', clientIp, clientPort: 40000, localIp, localPort: 25 });

async function heloOf(c: Check, name: string, clientIp = '127.0.0.5', localIp = '127.0.0.1', facts: SessionFacts = {}): Promise<Finding[]> {
  const s = session(clientIp, localIp);
  const ctx: PhaseContext = { session: s, facts, tx: { authResults: [] }, isLocal };
  return (await c.open(s).helo?.(name, ctx, AbortSignal.timeout(10_000))) ?? [];
}

const symbols = async (name: string, clientIp?: string, localIp?: string): Promise<string[]> => (await heloOf(check(), name, clientIp, localIp)).map((f) => f.symbol);

beforeAll(async () => {
  dns = await startDnsmasq({
    hosts: [{ name: 'mail.sender.test', addresses: ['127.0.0.5'] }, { name: 'v6.sender.test', addresses: ['::1'] }],
    mx: [{ domain: 'mx-only.test', exchange: 'mail.sender.test', preference: 10 }],
    txt: [{ name: 'txt-only.test', text: 'v=spf1 -all' }],
    localSuffixes: ['test'],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

describe('HELO name syntax', () => {
  it('tells literals, bare addresses, domains and invalid names apart', () => {
    expect(classifyHelo('[192.0.2.1]')).toEqual({ kind: 'literal', ip: '192.0.2.1' });
    expect(classifyHelo('[IPv6:2001:DB8::1]')).toEqual({ kind: 'literal', ip: '2001:db8::1' });
    expect(classifyHelo('192.0.2.1')).toEqual({ kind: 'bare-ip', ip: '192.0.2.1' });
    expect(classifyHelo('2001:db8::1')).toEqual({ kind: 'bare-ip', ip: '2001:db8::1' });
    expect(classifyHelo('Mail.Example.COM')).toEqual({ kind: 'domain', domain: 'mail.example.com', fqdn: true });
    expect(classifyHelo('WIN-7Q3')).toEqual({ kind: 'domain', domain: 'win-7q3', fqdn: false });
    for (const bad of ['[::1]', '[300.1.1.1]', 'mail.example.com.', 'my_pc.example', '-bad.example', 'a..b', '[tag:x]']) expect(classifyHelo(bad).kind, bad).toBe('invalid');
  });
});

describe('helo against dnsmasq', () => {
  it('accepts a name that resolves (A, AAAA or only MX) and a literal of the client address', async () => {
    expect(await symbols('mail.sender.test')).toEqual([]);
    expect(await symbols('v6.sender.test')).toEqual([]);
    expect(await symbols('mx-only.test')).toEqual([]);
    expect(await symbols('[127.0.0.5]')).toEqual([]);
    expect(await symbols('[IPv6:0::1]', '2001:db8::5', '::1')).toEqual(['HELO_OURS']);
    expect(await symbols('[IPv6:::1]', '::1', '::2')).toEqual([]);
  });

  it('reports a name without A, AAAA and MX as HELO_NO_DNS (NXDOMAIN or NODATA)', async () => {
    expect(await heloOf(check(), 'nowhere.test')).toEqual([{ symbol: 'HELO_NO_DNS', detail: 'nowhere.test: no A, AAAA or MX (nxdomain/nxdomain/nxdomain)' }]);
    expect(await heloOf(check(), 'txt-only.test')).toEqual([{ symbol: 'HELO_NO_DNS', detail: 'txt-only.test: no A, AAAA or MX (nodata/nodata/nodata)' }]);
    expect(await heloOf(check({ dns: false }), 'nowhere.test')).toEqual([]);
  });

  it('reports invalid names, bare addresses, single labels and foreign literals', async () => {
    expect(await symbols('my_pc.example')).toEqual(['HELO_INVALID']);
    expect(await symbols('127.0.0.5')).toEqual(['HELO_BARE_IP']);
    expect(await symbols('localhost')).toEqual(['HELO_NOT_FQDN']);
    expect(await heloOf(check(), '[127.0.0.9]')).toEqual([{ symbol: 'HELO_LITERAL_MISMATCH', detail: '[127.0.0.9] from 127.0.0.5' }]);
  });

  it('HELO_OURS: our hostname (any case), one of our domains, or our listener address', async () => {
    expect(await heloOf(check(), 'mx.MOAT.test')).toEqual([{ symbol: 'HELO_OURS', detail: 'mx.MOAT.test: our hostname' }]);
    expect(await heloOf(check(), 'example.test')).toEqual([{ symbol: 'HELO_OURS', detail: 'example.test: one of our domains' }]);
    expect(await symbols('[127.0.0.1]')).toEqual(['HELO_OURS']);
    expect(await symbols('127.0.0.1')).toEqual(['HELO_OURS']);
    // Not ours: a subdomain of our domain (a hard reject stays exact), and ourselves talking to ourselves.
    expect(await symbols('host.example.test')).toEqual(['HELO_NO_DNS']);
    expect(await symbols('mx.moat.test', '127.0.0.1', '127.0.0.1')).toEqual(['HELO_NO_DNS']);
    // Nor a client the operator allowlisted (an internal host that says HELO with our domain).
    const allowlisted = { allowlisted: { by: 'sender-lists', detail: 'client 127.0.0.5' } };
    expect((await heloOf(check(), 'example.test', '127.0.0.5', '127.0.0.1', allowlisted)).map((f) => f.symbol)).toEqual(['HELO_NO_DNS']);
  });

  it('rejects HELO_OURS at HELO with 550 5.7.1; the others only score', async () => {
    const checks = [{ check: check(), observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({}));
    const p = new PipelineSession({ checks, policy, isLocal }, session('127.0.0.5'));
    const o = await p.helo('mx.moat.test', AbortSignal.timeout(10_000));
    expect(o.kind).toBe('reject');
    if (o.kind === 'reject') expect(formatReply(decisionReply(policy, 'reject', o.because, 'helo'))).toBe('550 5.7.1 Helo command rejected: that name is ours, not yours\r\n');
    expect(p.facts.helo).toBe('mx.moat.test');
    const again = await p.helo('localhost', AbortSignal.timeout(10_000));
    expect(again).toMatchObject({ kind: 'continue', findings: [{ symbol: 'HELO_NOT_FQDN', score: 1 }] });
    const none = createPolicy(checks, policySchema.parse({ symbols: { HELO_OURS: { action: 'none' } } }));
    expect((await new PipelineSession({ checks, policy: none, isLocal }, session('127.0.0.5')).helo('mx.moat.test', AbortSignal.timeout(10_000))).kind).toBe('continue');
  });

  it('a DNS failure is HELO_DNS_ERROR, transient, never HELO_NO_DNS', async () => {
    const s = await startScriptedDns(() => []);
    scripted.push(s);
    expect(await heloOf(check({}, s.server, '300ms'), 'mail.sender.test')).toEqual([{ symbol: 'HELO_DNS_ERROR', detail: 'mail.sender.test: TIMEOUT', transient: true }]);
  });
});
