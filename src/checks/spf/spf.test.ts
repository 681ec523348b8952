// SPF against a real dnsmasq zone (the client is 127.0.0.1, so pass records list ip4:127.0.0.1 and
// fail records leave it out), the RFC 7208 §4.6.4 lookup limit with a chain of includes, and DNS
// failures from the scripted server (SERVFAIL) and a black hole (timeout): transient, never a reject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startBlackHoleDns, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs, type DnsmasqHandle, type ScriptedDns } from '../../../test/harness/index.js';
import { context, mailbox, NO_PARAMS, resolverFor, session } from '../../../test/support/check-context.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Resolver } from '../../platform/dns/index.js';
import { replyToString } from '../../smtp/reply.js';
import type { ReversePath } from '../../smtp/address.js';
import { spfCheck, spfSchema } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

/** A chain of n includes under `name`, the last one passing 127.0.0.1. */
function includeChain(name: string, n: number): { name: string; text: string }[] {
  const out = [{ name, text: `v=spf1 include:i1.${name} -all` }];
  for (let i = 1; i < n; i++) out.push({ name: `i${i}.${name}`, text: `v=spf1 include:i${i + 1}.${name} -all` });
  out.push({ name: `i${n}.${name}`, text: 'v=spf1 ip4:127.0.0.1 -all' });
  return out;
}

beforeAll(async () => {
  dns = await startDnsmasq({
    hosts: [{ name: 'none.test', addresses: ['127.0.0.1'] }, { name: 'mail.helo.test', addresses: ['127.0.0.1'] }],
    txt: [
      { name: 'pass.test', text: 'v=spf1 ip4:127.0.0.1 -all' },
      { name: 'fail.test', text: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: 'soft.test', text: 'v=spf1 ip4:192.0.2.1 ~all' },
      { name: 'neutral.test', text: 'v=spf1 ?all' },
      { name: 'broken.test', text: 'v=spf1 frobnicate:192.0.2.1 -all' },
      { name: 'mail.helo.test', text: 'v=spf1 a -all' },
      // 11 includes: over the limit of 10 DNS-querying terms; 10 are still fine.
      ...includeChain('deep.test', 11),
      ...includeChain('ten.test', 10),
    ],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

async function run(resolver: Resolver, from: ReversePath, helo = 'client.example.net', signal = AbortSignal.timeout(10_000)) {
  const ctx = context({ helo });
  const run = spfCheck(spfSchema.parse({}), { resolver, hostname: 'mx.moat.test' }).open(session());
  const findings = (await run.mailFrom?.(from, NO_PARAMS, ctx, signal)) ?? [];
  return { findings, fact: ctx.tx.spf, ar: ctx.tx.authResults };
}

describe('spf at MAIL', () => {
  it('passes a domain that lists the client, with the fact and the Authentication-Results entry', async () => {
    const r = await run(resolverFor(dns.server), mailbox('alice@pass.test'));
    expect(r.fact).toEqual({ result: 'pass', domain: 'pass.test' });
    expect(r.ar).toEqual(['spf=pass smtp.mailfrom=pass.test']);
    expect(r.findings).toEqual([{ symbol: 'SPF_PASS', detail: expect.stringMatching(/^pass\.test: domain of alice@pass\.test designates 127\.0\.0\.1/) }]);
  });

  it.each([
    ['fail.test', 'fail', 'SPF_FAIL'],
    ['soft.test', 'softfail', 'SPF_SOFTFAIL'],
    ['neutral.test', 'neutral', 'SPF_NEUTRAL'],
    ['none.test', 'none', 'SPF_NONE'],
    ['nowhere.test', 'none', 'SPF_NONE'],
    ['broken.test', 'permerror', 'SPF_PERMERROR'],
  ])('%s gives %s', async (domain, result, symbol) => {
    const r = await run(resolverFor(dns.server), mailbox(`bob@${domain}`));
    expect(r.fact).toEqual({ result, domain });
    expect(r.ar).toEqual([`spf=${result} smtp.mailfrom=${domain}`]);
    expect(r.findings.map((f) => [f.symbol, f.transient])).toEqual([[symbol, undefined]]);
  });

  it('stops at 10 DNS-querying terms (RFC 7208 §4.6.4): 11 chained includes are a permerror, 10 pass', async () => {
    const deep = await run(resolverFor(dns.server), mailbox('a@deep.test'));
    expect(deep.fact?.result).toBe('permerror');
    expect(deep.findings[0]?.detail).toMatch(/Too many DNS requests/);
    const ten = await run(resolverFor(dns.server), mailbox('a@ten.test'));
    expect(ten.fact?.result).toBe('pass');
  });

  it('checks the HELO identity for the null sender (RFC 7208 §2.4), and none for a HELO that is no domain', async () => {
    const r = await run(resolverFor(dns.server), null, 'mail.helo.test');
    expect(r.fact).toEqual({ result: 'pass', domain: 'mail.helo.test' });
    expect(r.ar).toEqual(['spf=pass smtp.helo=mail.helo.test']);
    const literal = await run(resolverFor(dns.server), null, '[127.0.0.1]');
    expect(literal.fact).toEqual({ result: 'none', domain: '[127.0.0.1]' });
    expect(literal.ar).toEqual(['spf=none smtp.helo="[127.0.0.1]"']);
  });

  it('gives a transient temperror, never a reject, on SERVFAIL and on a timeout', async () => {
    const servfail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    const hole = await startBlackHoleDns();
    scripted.push(servfail, hole);
    for (const resolver of [resolverFor(servfail.server), resolverFor(hole.server, '300ms')]) {
      const r = await run(resolver, mailbox('alice@pass.test'));
      expect(r.fact).toEqual({ result: 'temperror', domain: 'pass.test' });
      expect(r.ar).toEqual(['spf=temperror smtp.mailfrom=pass.test']);
      expect(r.findings).toMatchObject([{ symbol: 'SPF_TEMPERROR', transient: true }]);
    }
    // Even with SPF_FAIL made a reject, a DNS failure only ever reaches the transient symbol.
    const checks = [{ check: spfCheck(spfSchema.parse({}), { resolver: resolverFor(servfail.server), hostname: 'mx.moat.test' }), observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({ symbols: { SPF_FAIL: { action: 'reject' } } }));
    const o = await new PipelineSession({ checks, policy, isLocal: () => true }, session()).mailFrom(mailbox('alice@fail.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o.kind).toBe('continue');
  });

  it('gives temperror when the phase deadline passes during the lookups', async () => {
    const hole = await startBlackHoleDns();
    scripted.push(hole);
    const r = await run(resolverFor(hole.server, '5s'), mailbox('alice@pass.test'), 'client.example.net', AbortSignal.timeout(200));
    expect(r.fact?.result).toBe('temperror');
    expect(r.findings[0]?.transient).toBe(true);
  });
});

describe('SPF_FAIL as a reject (policy)', () => {
  it('is a score by default and 550 5.7.23 naming the domain when the operator makes it a reject', async () => {
    const checks = [{ check: spfCheck(spfSchema.parse({}), { resolver: resolverFor(dns.server), hostname: 'mx.moat.test' }), observe: false, failOpen: false }];
    const lenient = createPolicy(checks, policySchema.parse({}));
    const o1 = await new PipelineSession({ checks, policy: lenient, isLocal: () => true }, session()).mailFrom(mailbox('alice@fail.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o1.kind).toBe('continue');
    expect(o1.findings.map((f) => [f.symbol, f.score])).toEqual([['SPF_FAIL', 1.5]]);

    const strict = createPolicy(checks, policySchema.parse({ symbols: { SPF_FAIL: { action: 'reject' } } }));
    const o2 = await new PipelineSession({ checks, policy: strict, isLocal: () => true }, session()).mailFrom(mailbox('alice@fail.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o2.kind).toBe('reject');
    if (o2.kind !== 'reject') return;
    expect(replyToString(decisionReply(strict, 'reject', o2.because, 'mailFrom'))).toBe('550 5.7.23 SPF validation failed: fail.test does not authorize this host to send its mail');
    // Soft bounce keeps the detail: 450 4.7.23.
    const soft = createPolicy(checks, policySchema.parse({ softBounce: true, symbols: { SPF_FAIL: { action: 'reject' } } }));
    expect(replyToString(decisionReply(soft, 'reject', o2.because, 'mailFrom'))).toMatch(/^450 4\.7\.23 /);
  });
});
