// The sender-domain check against a real dnsmasq zone (MX, implicit MX by A or AAAA, null MX,
// NODATA, NXDOMAIN) and DNS failures from the scripted server: transient, never a reject, even
// when the operator made SENDER_DOMAIN_UNROUTABLE a reject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startBlackHoleDns, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs, type DnsmasqHandle, type ScriptedDns } from '../../../test/harness/index.js';
import { context, mailbox, NO_PARAMS, resolverFor, session } from '../../../test/support/check-context.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Resolver } from '../../platform/dns/index.js';
import type { ReversePath } from '../../smtp/address.js';
import { replyToString } from '../../smtp/reply.js';
import { senderDomainCheck, senderDomainSchema } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];

beforeAll(async () => {
  dns = await startDnsmasq({
    hosts: [
      { name: 'mail.mx.test', addresses: ['127.0.0.10'] },
      { name: 'a-only.test', addresses: ['127.0.0.11'] },
      { name: 'v6-only.test', addresses: ['fd00::11'] },
    ],
    mx: [
      { domain: 'mx.test', exchange: 'mail.mx.test', preference: 10 },
      { domain: 'nullmx.test', exchange: '.', preference: 0 },
    ],
    txt: [{ name: 'txt-only.test', text: 'exists, but takes no mail' }],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

async function run(resolver: Resolver, from: ReversePath) {
  const r = senderDomainCheck(senderDomainSchema.parse({}), { resolver }).open(session());
  return (await r.mailFrom?.(from, NO_PARAMS, context(), AbortSignal.timeout(10_000))) ?? [];
}

describe('sender-domain at MAIL', () => {
  it.each(['mx.test', 'a-only.test', 'v6-only.test'])('accepts %s (MX, or the implicit MX of RFC 5321 §5.1)', async (d) => {
    expect(await run(resolverFor(dns.server), mailbox(`alice@${d}`))).toEqual([]);
  });

  it.each([
    ['nullmx.test', /null MX/],
    ['txt-only.test', /no MX, A or AAAA/],
    ['nowhere.test', /NXDOMAIN/],
  ])('finds %s unroutable', async (d, why) => {
    const f = await run(resolverFor(dns.server), mailbox(`alice@${d}`));
    expect(f).toMatchObject([{ symbol: 'SENDER_DOMAIN_UNROUTABLE' }]);
    expect(f[0]?.detail).toMatch(why);
    expect(f[0]?.transient).toBeUndefined();
  });

  it('skips the null sender and address literals', async () => {
    expect(await run(resolverFor(dns.server), null)).toEqual([]);
    expect(await run(resolverFor(dns.server), mailbox('alice@[127.0.0.1]'))).toEqual([]);
  });

  it('is transient on SERVFAIL and on a timeout, and never rejects then', async () => {
    const servfail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    // NODATA for MX, then SERVFAIL for the A/AAAA lookups of the implicit MX.
    const half = await startScriptedDns((q) => [replyTo(q, q.questions?.[0]?.type === 'MX' ? {} : { rcode: 'SERVFAIL' })]);
    const hole = await startBlackHoleDns();
    scripted.push(servfail, half, hole);
    for (const resolver of [resolverFor(servfail.server), resolverFor(half.server), resolverFor(hole.server, '300ms')]) {
      const f = await run(resolver, mailbox('alice@nowhere.test'));
      expect(f).toMatchObject([{ symbol: 'SENDER_DOMAIN_TEMPERROR', transient: true }]);
    }
    const checks = [{ check: senderDomainCheck(senderDomainSchema.parse({}), { resolver: resolverFor(servfail.server) }), observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({ symbols: { SENDER_DOMAIN_UNROUTABLE: { action: 'reject' } } }));
    const o = await new PipelineSession({ checks, policy, isLocal: () => true }, session()).mailFrom(mailbox('alice@nowhere.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o.kind).toBe('continue');
  });

  it('scores by default; as a reject it answers 550 5.1.8 (Postfix reject_unknown_sender_domain)', async () => {
    const checks = [{ check: senderDomainCheck(senderDomainSchema.parse({}), { resolver: resolverFor(dns.server) }), observe: false, failOpen: false }];
    const lenient = createPolicy(checks, policySchema.parse({}));
    const o1 = await new PipelineSession({ checks, policy: lenient, isLocal: () => true }, session()).mailFrom(mailbox('alice@nowhere.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o1.kind).toBe('continue');
    expect(o1.findings.map((f) => [f.symbol, f.score])).toEqual([['SENDER_DOMAIN_UNROUTABLE', 3]]);
    const strict = createPolicy(checks, policySchema.parse({ symbols: { SENDER_DOMAIN_UNROUTABLE: { action: 'reject' } } }));
    const o2 = await new PipelineSession({ checks, policy: strict, isLocal: () => true }, session()).mailFrom(mailbox('alice@nullmx.test'), NO_PARAMS, AbortSignal.timeout(10_000));
    expect(o2.kind).toBe('reject');
    if (o2.kind !== 'reject') return;
    expect(replyToString(decisionReply(strict, 'reject', o2.because, 'mailFrom'))).toBe('550 5.1.8 Sender address rejected: Domain not found');
  });
});
