// The rdns check against PTR and A/AAAA records served by dnsmasq; DNS failures from the scripted server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs } from '../../../test/harness/index.js';
import type { DnsmasqHandle, ScriptedDns } from '../../../test/harness/index.js';
import { validateConfig } from '../../config/load.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Check, PhaseContext, SessionFacts } from '../../pipeline/types.js';
import { dnsSchema } from '../../platform/dns/config.js';
import { createResolver } from '../../platform/dns/resolver.js';
import { formatReply } from '../../smtp/reply.js';
import { rdnsSchema } from './config.js';
import { containsAddress, DEFAULT_DYNAMIC_PATTERNS, dynamicMatcher } from './dynamic.js';
import { rdns } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

function check(config: Record<string, unknown> = {}, server = dns.server, timeout = '2s'): Check {
  const cfg = dnsSchema.parse({ servers: [server], timeout, tries: 1, cache: { maxEntries: 0 } });
  return rdns(rdnsSchema.parse(config), { resolver: createResolver({ ...cfg, servers: [server] }) });
}

const session = (clientIp: string) => ({ id: 's', clientIp, clientPort: 40000, localIp: '127.0.0.1', localPort: 25 });

async function connect(c: Check, clientIp: string) {
  const facts: SessionFacts = {};
  const ctx: PhaseContext = { session: session(clientIp), facts, tx: { authResults: [] }, isLocal: () => false };
  const findings = (await c.open(session(clientIp)).connect?.(ctx, AbortSignal.timeout(10_000))) ?? [];
  return { findings, facts };
}

beforeAll(async () => {
  dns = await startDnsmasq({
    hosts: [
      { name: 'mail.good.test', addresses: ['127.0.0.21'] },
      { name: '127-0-0-24.pool.isp.test', addresses: ['127.0.0.24'] },
      { name: 'adsl42.customers.isp.test', addresses: ['127.0.0.25'] },
      { name: 'mail.dynamics.test', addresses: ['127.0.0.26'] },
      { name: 'host6.good.test', addresses: ['::1'] },
      { name: 'elsewhere.test', addresses: ['127.0.0.99'] },
    ],
    addresses: [{ name: 'b.multi.test', address: '127.0.0.27' }],
    ptr: [
      { ip: '127.0.0.22', target: 'elsewhere.test' },
      { ip: '127.0.0.23', target: 'no-such-host.test' },
      { ip: '127.0.0.27', target: 'a.multi.test' },
      { ip: '127.0.0.27', target: 'b.multi.test' },
    ],
    localSuffixes: ['test', '127.in-addr.arpa', 'ip6.arpa'],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

describe('rdns against dnsmasq', () => {
  it('no PTR: RDNS_NONE and the fact says no name', async () => {
    const { findings, facts } = await connect(check(), '127.0.0.20');
    expect(findings).toEqual([{ symbol: 'RDNS_NONE', detail: 'no PTR for 127.0.0.20 (nxdomain)' }]);
    expect(facts.rdns).toEqual({ name: null, confirmed: false });
  });

  it('a PTR whose name resolves back: confirmed, nothing to report', async () => {
    const { findings, facts } = await connect(check(), '127.0.0.21');
    expect(findings).toEqual([]);
    expect(facts.rdns).toEqual({ name: 'mail.good.test', confirmed: true });
  });

  it('a PTR whose name points elsewhere or nowhere: RDNS_NOT_CONFIRMED', async () => {
    const elsewhere = await connect(check(), '127.0.0.22');
    expect(elsewhere.findings).toEqual([{ symbol: 'RDNS_NOT_CONFIRMED', detail: '127.0.0.22 PTR elsewhere.test: none resolves back (A)' }]);
    expect(elsewhere.facts.rdns).toEqual({ name: 'elsewhere.test', confirmed: false });
    expect((await connect(check(), '127.0.0.23')).findings.map((f) => f.symbol)).toEqual(['RDNS_NOT_CONFIRMED']);
  });

  it('follows every PTR name until one resolves back', async () => {
    const both = await connect(check(), '127.0.0.27');
    expect(both.findings).toEqual([]);
    expect(both.facts.rdns).toEqual({ name: 'b.multi.test', confirmed: true });
  });

  it('a confirmed generic name: RDNS_DYNAMIC, for the address in the name and for pool words', async () => {
    expect((await connect(check(), '127.0.0.24')).findings).toEqual([{ symbol: 'RDNS_DYNAMIC', detail: '127-0-0-24.pool.isp.test: address in name' }]);
    const words = await connect(check(), '127.0.0.25');
    expect(words.findings.map((f) => f.symbol)).toEqual(['RDNS_DYNAMIC']);
    expect(words.findings[0]?.detail).toMatch(/^adsl42\.customers\.isp\.test: pattern \//);
    expect(words.facts.rdns).toEqual({ name: 'adsl42.customers.isp.test', confirmed: true });
    // The provider's own domain never decides: "dynamics.test" is the registered name here.
    expect((await connect(check(), '127.0.0.26')).findings).toEqual([]);
    // Operator patterns replace the defaults.
    expect((await connect(check({ dynamic: { patterns: ['^mail$'] } }), '127.0.0.26')).findings.map((f) => f.symbol)).toEqual(['RDNS_DYNAMIC']);
    expect((await connect(check({ dynamic: { patterns: [], addressInName: false } }), '127.0.0.24')).findings).toEqual([]);
  });

  it('an IPv6 client: nibble PTR and AAAA back', async () => {
    const { findings, facts } = await connect(check(), '::1');
    expect(findings).toEqual([]);
    expect(facts.rdns).toEqual({ name: 'host6.good.test', confirmed: true });
  });

  it('an operator may reject RDNS_NONE at connect', async () => {
    const c = check();
    const checks = [{ check: c, observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({ symbols: { RDNS_NONE: { action: 'reject' } } }));
    const o = await new PipelineSession({ checks, policy, isLocal: () => false }, session('127.0.0.20')).connect(AbortSignal.timeout(10_000));
    expect(o.kind).toBe('reject');
    if (o.kind === 'reject') expect(formatReply(decisionReply(policy, 'reject', o.because, 'connect'))).toBe('554 5.7.1 Client host rejected: cannot find your hostname\r\n');
    // By default it only scores.
    const plain = createPolicy(checks, policySchema.parse({}));
    expect((await new PipelineSession({ checks, policy: plain, isLocal: () => false }, session('127.0.0.20')).connect(AbortSignal.timeout(10_000))).kind).toBe('continue');
  });
});

describe('rdns when DNS fails (scripted DNS)', () => {
  it('a silent PTR lookup: RDNS_ERROR, transient, no fact, no reject', async () => {
    const s = await startScriptedDns(() => []);
    scripted.push(s);
    const { findings, facts } = await connect(check({}, s.server, '300ms'), '127.0.0.21');
    expect(findings).toEqual([{ symbol: 'RDNS_ERROR', detail: 'PTR of 127.0.0.21: TIMEOUT', transient: true }]);
    expect(facts.rdns).toBeUndefined();
  });

  it('follows at most maxNames PTR names', async () => {
    const ptrs = ['one.names.test', 'two.names.test', 'three.names.test'];
    const s = await startScriptedDns((q) => {
      const name = q.questions?.[0]?.name ?? '';
      if (q.questions?.[0]?.type === 'PTR') return [replyTo(q, { answers: ptrs.map((data) => ({ type: 'PTR' as const, name, ttl: 60, data })) })];
      if (name === 'three.names.test') return [replyTo(q, { answers: [{ type: 'A', name, ttl: 60, data: '127.0.0.21' }] })];
      return [replyTo(q, { rcode: 'NXDOMAIN' })];
    });
    scripted.push(s);
    expect((await connect(check({}, s.server), '127.0.0.21')).facts.rdns).toEqual({ name: 'three.names.test', confirmed: true });
    const before = s.queries.length;
    const { findings } = await connect(check({ maxNames: 2 }, s.server), '127.0.0.21');
    expect(findings).toEqual([{ symbol: 'RDNS_NOT_CONFIRMED', detail: '127.0.0.21 PTR one.names.test, two.names.test: none resolves back (A)' }]);
    expect(s.queries.slice(before).map((q) => q.decoded?.questions?.[0]?.name).sort()).toEqual(['21.0.0.127.in-addr.arpa', 'one.names.test', 'two.names.test']);
  });

  it('a PTR whose forward lookup fails: RDNS_ERROR, not RDNS_NOT_CONFIRMED', async () => {
    const s = await startScriptedDns((q) => {
      const name = q.questions?.[0]?.name ?? '';
      if (q.questions?.[0]?.type === 'PTR') return [replyTo(q, { answers: [{ type: 'PTR', name, ttl: 60, data: 'mail.flaky.test' }] })];
      return [replyTo(q, { rcode: 'SERVFAIL' })];
    });
    scripted.push(s);
    const { findings, facts } = await connect(check({}, s.server, '300ms'), '127.0.0.21');
    expect(findings).toEqual([{ symbol: 'RDNS_ERROR', detail: '127.0.0.21 PTR mail.flaky.test; mail.flaky.test A: SERVFAIL', transient: true }]);
    expect(facts.rdns).toEqual({ name: 'mail.flaky.test', confirmed: false });
  });
});

describe('generic names', () => {
  it('finds the client address written into the name, in order or reversed, padded or hex', () => {
    for (const n of ['host-203-0-113-5.isp.example', '5.113.0.203.dyn.example', 'c203x000x113x005.example', 'cb007105.cable.example', 'x203_0_113_5.example']) {
      expect(containsAddress(n, '203.0.113.5'), n).toBe(true);
    }
    for (const n of ['mail.example', 'host-203-0-113-51.isp.example', '1203-0-113-5.example']) expect(containsAddress(n, '203.0.113.5'), n).toBe(false);
    expect(containsAddress('x-1-0-0-0-0-0-0-1.example', '::1')).toBe(false);
  });

  it('matches pool words as words of the host part only', () => {
    const m = dynamicMatcher(DEFAULT_DYNAMIC_PATTERNS, true);
    for (const n of ['dsl-pool-7.isp.example', 'ppp12.dialup.isp.example', 'dhcp.residential.isp.example', 'static.customer.example.net']) expect(m.match(n, '192.0.2.1'), n).not.toBeNull();
    for (const n of ['mail.example.com', 'mx1.dynadot.com', 'smtp.cable.example', 'relay.mailpool.example', 'dynamic.example']) expect(m.match(n, '192.0.2.1'), n).toBeNull();
  });

  it('refuses an invalid pattern at its config path', () => {
    const r = validateConfig({
      hostname: 'mx.example.test',
      listen: [{ address: '127.0.0.1:2525' }],
      domains: { 'example.test': { relay: ['127.0.0.1:2526'] } },
      dataDir: '/tmp/x',
      checks: { rdns: { dynamic: { patterns: ['ok', '(unclosed'] } } },
    });
    expect(r.ok ? [] : r.errors).toEqual([{ path: 'checks.rdns.dynamic.patterns[1]', message: 'not a valid regular expression' }]);
  });
});
