import { describe, expect, it } from 'vitest';
import { policySchema } from '../../pipeline/config.js';
import { messageView } from '../../pipeline/message.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession, type CheckEntry } from '../../pipeline/runner.js';
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { Domain } from '../../smtp/address.js';
import { RuntimeSenderLists, type SenderEntry } from '../../senders/entries.js';
import { senderLists, senderListsSchema } from './index.js';
import { mailbox, NO_PARAMS } from '../../../test/support/check-context.js';

const isLocal = (d: Domain): boolean => d === 'example.test';
const signal = (): AbortSignal => AbortSignal.timeout(5000);
const view = messageView(Buffer.from('Subject: hi\r\n\r\nbody\r\n'), 21, async function* () {});

/** A content check that scores every message high enough to be rejected. */
const spammy: Check = {
  name: 'spammy',
  symbols: [{ name: 'SPAMMY', description: 'spam', score: 20 } satisfies SymbolDef],
  open: () => ({ data: async (): Promise<Finding[]> => [{ symbol: 'SPAMMY' }] }),
};

function setup(lists: Record<string, unknown>, clientIp = '203.0.113.9', extra: CheckEntry[] = [], runtime?: () => RuntimeSenderLists) {
  const config = senderListsSchema.parse(lists);
  const checks: CheckEntry[] = [{ check: senderLists(config, runtime), observe: config.observe, failOpen: false }, ...extra];
  const policy = createPolicy(checks, policySchema.parse({}));
  const pipeline = new PipelineSession({ checks, policy, isLocal }, { id: 's', clientIp, clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
  return { policy, pipeline };
}

describe('sender-lists', () => {
  it('refuses a denied sender at MAIL with 550 5.7.1 and a text that does not echo the address', async () => {
    const { pipeline, policy } = setup({ deny: { addresses: ['Spam@Bad.Example'], domains: ['worse.example', '.worst.example'], patterns: ['*-promo@*'] } });
    for (const from of ['spam@bad.example', 'SPAM@BAD.EXAMPLE', 'x@worse.example', 'x@a.worst.example', 'big-promo@shop.example']) {
      const o = await pipeline.mailFrom(mailbox(from), NO_PARAMS, signal());
      expect(o.kind, from).toBe('reject');
      if (o.kind !== 'reject') continue;
      expect(o.because.symbol).toBe('SENDER_DENYLISTED');
      const r = decisionReply(policy, 'reject', o.because, 'mailFrom');
      expect(r).toMatchObject({ code: 550, status: '5.7.1', lines: ['Sender address rejected: access denied'] });
    }
    for (const from of ['ok@bad.example', 'x@worst.example', 'promo@shop.example']) {
      expect((await pipeline.mailFrom(mailbox(from), NO_PARAMS, signal())).kind, from).toBe('continue');
    }
  });

  it('refuses a denied client at MAIL (not at connect), also for the null sender and IPv4-mapped addresses', async () => {
    const { pipeline, policy } = setup({ deny: { clients: ['203.0.113.0/24'] } }, '::ffff:203.0.113.9');
    expect((await pipeline.connect(signal())).kind).toBe('continue');
    const o = await pipeline.mailFrom(null, NO_PARAMS, signal());
    expect(o.kind).toBe('reject');
    if (o.kind === 'reject') {
      expect(o.because.symbol).toBe('CLIENT_DENYLISTED');
      expect(decisionReply(policy, 'reject', o.because, 'mailFrom')).toMatchObject({ code: 550, status: '5.7.1', lines: ['Client host rejected: access denied'] });
    }
  });

  it('accepts an allowed sender over a rejecting score and sets the transaction allowlisted fact', async () => {
    const { pipeline } = setup({ allow: { patterns: ['news-*@partner.example'] } }, '203.0.113.9', [{ check: spammy, observe: false, failOpen: false }]);
    expect((await pipeline.mailFrom(mailbox('news-42@partner.example'), NO_PARAMS, signal())).kind).toBe('continue');
    expect(pipeline.transactionFacts.allowlisted).toMatchObject({ by: 'sender-lists' });
    expect(pipeline.facts.allowlisted).toBeUndefined();
    const v = await pipeline.data(view, { from: mailbox('news-42@partner.example'), recipients: [mailbox('bob@example.test')] }, signal());
    expect(v.score).toBe(20);
    expect(v.action).toBe('accept');
    expect(v.reason).toBe('symbol SENDER_ALLOWLISTED: accept');
    // The next transaction of the same session is not allowlisted.
    await pipeline.mailFrom(mailbox('other@partner.example'), NO_PARAMS, signal());
    expect(pipeline.transactionFacts.allowlisted).toBeUndefined();
    const v2 = await pipeline.data(view, { from: mailbox('other@partner.example'), recipients: [mailbox('bob@example.test')] }, signal());
    expect(v2.action).toBe('reject');
  });

  it('allowlists a client for the whole session at connect', async () => {
    const { pipeline } = setup({ allow: { clients: ['2001:db8::/32'] } }, '2001:db8::25', [{ check: spammy, observe: false, failOpen: false }]);
    const o = await pipeline.connect(signal());
    expect(o.findings.map((f) => f.symbol)).toEqual(['CLIENT_ALLOWLISTED']);
    expect(pipeline.facts.allowlisted).toEqual({ by: 'sender-lists', detail: 'client 2001:db8::25' });
    for (let i = 0; i < 2; i++) {
      await pipeline.mailFrom(mailbox(`a${i}@any.example`), NO_PARAMS, signal());
      expect((await pipeline.data(view, { from: null, recipients: [] }, signal())).action).toBe('accept');
    }
  });

  it('lets a deny win over an allow', async () => {
    const a = setup({ allow: { clients: ['203.0.113.0/24'] }, deny: { clients: ['203.0.113.9'] } });
    expect((await a.pipeline.connect(signal())).findings).toEqual([]);
    expect(a.pipeline.facts.allowlisted).toBeUndefined();
    expect((await a.pipeline.mailFrom(null, NO_PARAMS, signal())).kind).toBe('reject');
    const b = setup({ allow: { domains: ['partner.example'] }, deny: { addresses: ['bad@partner.example'] } });
    expect((await b.pipeline.mailFrom(mailbox('bad@partner.example'), NO_PARAMS, signal())).kind).toBe('reject');
    expect((await b.pipeline.mailFrom(mailbox('good@partner.example'), NO_PARAMS, signal())).findings.map((f) => f.symbol)).toEqual(['SENDER_ALLOWLISTED']);
  });

  it('never matches the null sender against address, domain or pattern lists', async () => {
    const { pipeline } = setup({ allow: { patterns: ['*'] }, deny: { patterns: ['*'], domains: ['example.test'] } });
    const o = await pipeline.mailFrom(null, NO_PARAMS, signal());
    expect(o).toEqual({ kind: 'continue', findings: [] });
    expect(pipeline.transactionFacts.allowlisted).toBeUndefined();
  });

  it('scores our own domain in MAIL FROM from outside internalNetworks, with no action by default', async () => {
    const out = setup({ internalNetworks: ['10.0.0.0/8'] }, '203.0.113.9');
    const o = await out.pipeline.mailFrom(mailbox('ceo@example.test'), NO_PARAMS, signal());
    expect(o.kind).toBe('continue');
    expect(o.findings.map((f) => [f.symbol, f.score, f.action])).toEqual([['SENDER_OWN_DOMAIN_OUTSIDE', 2, null]]);
    expect((await out.pipeline.mailFrom(mailbox('x@elsewhere.example'), NO_PARAMS, signal())).findings).toEqual([]);
    expect((await out.pipeline.mailFrom(null, NO_PARAMS, signal())).findings).toEqual([]);
    const inside = setup({ internalNetworks: ['10.0.0.0/8'] }, '10.1.2.3');
    expect((await inside.pipeline.mailFrom(mailbox('ceo@example.test'), NO_PARAMS, signal())).findings).toEqual([]);
  });

  it('in observe mode shows its findings but acts on nothing and sets no facts', async () => {
    const { pipeline } = setup({ observe: true, allow: { clients: ['203.0.113.9'] }, deny: { addresses: ['x@bad.example'] } });
    const c = await pipeline.connect(signal());
    expect(c.findings.map((f) => [f.symbol, f.observed])).toEqual([['CLIENT_ALLOWLISTED', true]]);
    expect(pipeline.facts.allowlisted).toBeUndefined();
    expect((await pipeline.mailFrom(mailbox('x@bad.example'), NO_PARAMS, signal())).kind).toBe('continue');
  });

  it('consults the run-time entries as they change: a block refuses at MAIL, an allow accepts over the score, a config deny still wins', async () => {
    const e = (id: number, list: 'allow' | 'block', value: string): SenderEntry => ({ id, list, value, addedBy: 'root', addedAt: 0, note: '' });
    let live = new RuntimeSenderLists([]);
    const { pipeline, policy } = setup({ deny: { domains: ['bad.example'] } }, '203.0.113.9', [{ check: spammy, observe: false, failOpen: false }], () => live);
    expect((await pipeline.mailFrom(mailbox('promo@sender.example'), NO_PARAMS, signal())).kind).toBe('continue');
    live = new RuntimeSenderLists([e(1, 'block', 'promo@sender.example'), e(2, 'allow', 'partner.example'), e(3, 'allow', 'x@bad.example')]);
    const o = await pipeline.mailFrom(mailbox('Promo@Sender.Example'), NO_PARAMS, signal());
    expect(o.kind).toBe('reject');
    if (o.kind === 'reject') {
      expect(o.because).toMatchObject({ symbol: 'SENDER_DENYLISTED', detail: 'promo@sender.example (run-time block promo@sender.example by root)' });
      expect(decisionReply(policy, 'reject', o.because, 'mailFrom')).toMatchObject({ code: 550, status: '5.7.1' });
    }
    await pipeline.mailFrom(mailbox('news@partner.example'), NO_PARAMS, signal());
    expect(pipeline.transactionFacts.allowlisted).toMatchObject({ by: 'sender-lists' });
    const v = await pipeline.data(view, { from: mailbox('news@partner.example'), recipients: [mailbox('bob@example.test')] }, signal());
    expect(v.action).toBe('accept');
    expect((await pipeline.mailFrom(mailbox('x@bad.example'), NO_PARAMS, signal())).kind).toBe('reject');
  });

  it('refuses bad list entries with their config path', () => {
    const r = senderListsSchema.safeParse({ deny: { addresses: ['nobody'], clients: ['10.0.0.0/40'] } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['deny.addresses.0', 'deny.clients.0']);
  });
});
