/**
 * Outbound sessions in the pipeline: the relay guard lets only a session with the `outbound` fact
 * name other domains (554 5.7.1 for everyone else), and such a session is judged by the outbound
 * profile (outbound.policy thresholds), whatever the recipient's own profile.
 */
import { describe, expect, it } from 'vitest';
import { relayGuard } from '../checks/relay-guard/index.js';
import type { Domain } from '../smtp/address.js';
import { policySchema } from './config.js';
import { messageView } from './message.js';
import { decisionReply } from './replies.js';
import { createPolicy, PipelineSession, type CheckEntry } from './runner.js';
import type { Check } from './types.js';
import { mailbox } from '../../test/support/check-context.js';

const session = { id: 's1', clientIp: '10.0.0.5', clientPort: 1234, localIp: '127.0.0.1', localPort: 25 };
const isLocal = (d: Domain): boolean => d === 'example.test';
const signal = (): AbortSignal => AbortSignal.timeout(5000);
const view = messageView(Buffer.from('Subject: hi\r\n\r\nbody\r\n'), 21, async function* () {});

const spammy: Check = {
  name: 'spammy',
  symbols: [{ name: 'SPAMMY', description: 'spammy', score: 6 }],
  open: () => ({ data: () => Promise.resolve([{ symbol: 'SPAMMY' }]) }),
};

function setup(outbound: boolean) {
  const checks: CheckEntry[] = [
    { check: relayGuard(), observe: false, failOpen: false },
    { check: spammy, observe: false, failOpen: false },
  ];
  const policy = createPolicy(checks, policySchema.parse({ overrides: { 'far.test': { actions: { tag: 100, quarantine: 100 } } } }), { quarantine: 5 });
  const pipeline = new PipelineSession({ checks, policy, isLocal }, session);
  if (outbound) pipeline.facts.outbound = { by: 'auth', account: 'alice' };
  return { policy, pipeline };
}

describe('outbound sessions', () => {
  it('refuses another domain with 554 5.7.1 without the outbound fact, and lets it through with it', async () => {
    const plain = setup(false);
    const refused = await plain.pipeline.rcptTo(mailbox('bob@far.test'), mailbox('alice@example.test'), signal());
    expect(refused.kind).toBe('reject');
    if (refused.kind !== 'reject') return;
    expect(refused.because.symbol).toBe('RCPT_NOT_LOCAL');
    expect(decisionReply(plain.policy, 'reject', refused.because, 'rcptTo')).toMatchObject({ code: 554, status: '5.7.1' });
    const out = setup(true);
    expect((await out.pipeline.rcptTo(mailbox('bob@far.test'), mailbox('alice@example.test'), signal())).kind).toBe('continue');
    // Address literals stay refused even for outbound sessions.
    expect((await out.pipeline.rcptTo(mailbox('bob@[192.0.2.9]'), mailbox('alice@example.test'), signal())).kind).toBe('reject');
  });

  it('judges outbound mail by the outbound thresholds, not the recipient domain\'s profile', async () => {
    const out = setup(true);
    await out.pipeline.rcptTo(mailbox('bob@far.test'), mailbox('alice@example.test'), signal());
    const v = await out.pipeline.data(view, { from: mailbox('alice@example.test'), recipients: [mailbox('bob@far.test')] }, signal());
    expect([v.profile, v.score, v.action]).toEqual(['outbound', 6, 'quarantine']);
  });

  it('skips the checks of outbound.skipChecks for outbound sessions and on submission listeners, and only there', async () => {
    const listed: Check = {
      name: 'dnsbl',
      symbols: [{ name: 'LISTED', description: 'listed', score: 0, action: 'reject' }],
      open: () => ({ connect: () => Promise.resolve([{ symbol: 'LISTED' }]) }),
    };
    const checks: CheckEntry[] = [{ check: listed, observe: false, failOpen: false }];
    const policy = createPolicy(checks, policySchema.parse({}));
    const make = () => new PipelineSession({ checks, policy, isLocal, outboundSkips: new Set(['dnsbl']) }, session);
    expect((await make().connect(signal())).kind).toBe('reject');
    const lan = make();
    lan.facts.outbound = { by: 'network', account: null };
    expect((await lan.connect(signal())).kind).toBe('continue');
    const submission = make();
    submission.facts.submission = true;
    expect((await submission.connect(signal())).kind).toBe('continue');
  });
});
