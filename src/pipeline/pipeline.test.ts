import { describe, expect, it } from 'vitest';
import type { Domain } from '../smtp/address.js';
import { policySchema } from './config.js';
import { messageView } from './message.js';
import { Policy, PolicyError } from './policy.js';
import { decisionReply } from './replies.js';
import { createPolicy, PipelineSession, tempfailSymbol, type CheckEntry } from './runner.js';
import type { Check, Finding, SymbolDef } from './types.js';
import { mailbox } from '../../test/support/check-context.js';

const session = { id: 's1', clientIp: '192.0.2.1', clientPort: 1234, localIp: '127.0.0.1', localPort: 25 };
const isLocal = (d: Domain): boolean => d === 'example.test' || d === 'other.test';
const signal = (): AbortSignal => AbortSignal.timeout(5000);

const view = messageView(Buffer.from('Subject: hi\r\n\r\nbody\r\n'), 21, async function* () {});

/** A check that reports fixed findings per phase, for exercising the pipeline itself. */
function fixed(name: string, symbols: SymbolDef[], found: Partial<Record<'connect' | 'rcptTo' | 'data', Finding[] | Error>>): Check {
  const give = async (f: Finding[] | Error | undefined): Promise<Finding[]> => {
    if (f instanceof Error) throw f;
    return f ?? [];
  };
  return { name, symbols, open: () => ({ connect: () => give(found.connect), rcptTo: () => give(found.rcptTo), data: () => give(found.data) }) };
}

const entry = (check: Check, observe = false, failOpen = false): CheckEntry => ({ check, observe, failOpen });

function setup(checks: CheckEntry[], config: Record<string, unknown> = {}) {
  const policy = createPolicy(checks, policySchema.parse(config));
  return { policy, pipeline: new PipelineSession({ checks, policy, isLocal }, session) };
}

const SYM = (name: string, score: number, extra: Partial<SymbolDef> = {}): SymbolDef => ({ name, description: name.toLowerCase(), score, ...extra });

describe('policy verdicts', () => {
  it('sums scores with weights and maps the total to the highest threshold reached', async () => {
    const c = fixed('a', [SYM('A_ONE', 3), SYM('A_TWO', 2)], { connect: [{ symbol: 'A_ONE' }], data: [{ symbol: 'A_TWO', weight: 1.5 }] });
    const { pipeline } = setup([entry(c)]);
    expect((await pipeline.connect(signal())).kind).toBe('continue');
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect(v.score).toBe(6);
    expect(v.action).toBe('tag');
    expect(v.reason).toBe('score 6 >= tag 5');
    expect(v.findings.map((f) => [f.symbol, f.score, f.phase])).toEqual([['A_ONE', 3, 'connect'], ['A_TWO', 3, 'data']]);
  });

  it('lets config change scores and thresholds, and refuses unknown or locked symbols', async () => {
    const c = fixed('a', [SYM('A_ONE', 3), SYM('A_LOCK', 0, { action: 'reject', locked: true })], { data: [{ symbol: 'A_ONE' }] });
    const { pipeline } = setup([entry(c)], { symbols: { A_ONE: { score: 9 } }, actions: { quarantine: 8.5 } });
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect([v.score, v.action]).toEqual([9, 'quarantine']);
    expect(() => setup([entry(c)], { symbols: { NOPE: { score: 1 } } })).toThrow(PolicyError);
    expect(() => setup([entry(c)], { symbols: { A_LOCK: { action: 'none' } } })).toThrow(/cannot be changed/);
  });

  it('decides a hard reject in its phase and skips the checks after it', async () => {
    let later = 0;
    const after: Check = { name: 'after', symbols: [], open: () => ({ rcptTo: async () => (later++, []) }) };
    const c = fixed('guard', [SYM('NO', 0, { action: 'reject' })], { rcptTo: [{ symbol: 'NO', detail: 'x' }] });
    const { pipeline, policy } = setup([entry(c), entry(after)]);
    const o = await pipeline.rcptTo(mailbox('bob@example.test'), null, signal());
    expect(o.kind).toBe('reject');
    expect(later).toBe(0);
    if (o.kind !== 'reject') return;
    expect(decisionReply(policy, 'reject', o.because, 'rcptTo')).toMatchObject({ code: 550, status: '5.7.1' });
    expect(decisionReply(policy, 'defer', o.because, 'rcptTo')).toMatchObject({ code: 451, status: '4.7.1' });
    expect(decisionReply(policy, 'reject', o.because, 'connect')).toMatchObject({ code: 554, status: '5.7.1' });
  });

  it('turns a thrown check into its TEMPFAIL symbol and a defer, unless the check fails open', async () => {
    const broken = fixed('dns-thing', [], { connect: new Error('ETIMEOUT') });
    const a = setup([entry(broken)]);
    const o = await a.pipeline.connect(signal());
    expect(o.kind).toBe('defer');
    if (o.kind === 'defer') expect(o.because).toMatchObject({ symbol: tempfailSymbol('dns-thing'), transient: true, detail: 'connect: ETIMEOUT' });
    const failures: string[] = [];
    const checks = [entry(broken, false, true)];
    const policy = createPolicy(checks, policySchema.parse({}));
    const p = new PipelineSession({ checks, policy, isLocal, onFailOpen: (name) => failures.push(name) }, session);
    expect((await p.connect(signal())).kind).toBe('continue');
    expect(failures).toEqual(['dns-thing']);
  });

  it('shows observe-only findings without scoring or acting on them', async () => {
    const c = fixed('new', [SYM('NEW_HIT', 20, { action: 'reject' })], { connect: [{ symbol: 'NEW_HIT' }] });
    const { pipeline } = setup([entry(c, true)]);
    expect((await pipeline.connect(signal())).kind).toBe('continue');
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect(v.action).toBe('accept');
    expect(v.findings[0]).toMatchObject({ symbol: 'NEW_HIT', observed: true, score: 0, action: null });
  });

  it('defers instead of rejecting by score when a check that could exempt failed', async () => {
    const spam = fixed('content', [SYM('SPAMMY', 20)], { data: [{ symbol: 'SPAMMY' }] });
    const allow = fixed('allowlist', [SYM('ALLOWED', -50)], { connect: new Error('timeout') });
    const { pipeline } = setup([entry(allow, false, false), entry(spam)], { symbols: { ALLOWLIST_TEMPFAIL: { action: 'none' } } });
    expect((await pipeline.connect(signal())).kind).toBe('continue');
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect(v.action).toBe('defer');
    expect(v.reason).toMatch(/allowlist could not decide/);
    // Without the failure the same message is rejected.
    const ok = setup([entry(fixed('allowlist', [SYM('ALLOWED', -50)], {})), entry(spam)]);
    expect((await ok.pipeline.data(view, { from: null, recipients: [] }, signal())).action).toBe('reject');
  });

  it('ranks hard actions: reject over defer over accept over quarantine over tag, accept beating score', async () => {
    const c = fixed('x', [SYM('BAD', 30), SYM('OK_SENDER', 0, { action: 'accept' }), SYM('VIRUS', 0, { action: 'reject' })], {
      data: [{ symbol: 'BAD' }, { symbol: 'OK_SENDER' }],
    });
    const { pipeline } = setup([entry(c)]);
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect([v.action, v.decidedBy?.symbol]).toEqual(['accept', 'OK_SENDER']);
    const policy = new Policy(policySchema.parse({}), c.symbols);
    const f = (symbol: string) => policy.scoreFinding({ symbol }, 'x', 'data', false, policy.defaultProfile);
    expect(policy.strongest([f('OK_SENDER'), f('VIRUS')])?.symbol).toBe('VIRUS');
  });

  it('counts a symbol once however many recipients raise it, and locks the transaction to one policy profile', async () => {
    const c = fixed('r', [SYM('RCPT_SCORE', 2)], { rcptTo: [{ symbol: 'RCPT_SCORE' }] });
    const { pipeline } = setup([entry(c)], { overrides: { 'other.test': { actions: { reject: 3 } }, 'vip@example.test': { actions: { tag: null } } } });
    expect((await pipeline.rcptTo(mailbox('a@example.test'), null, signal())).kind).toBe('continue');
    expect((await pipeline.rcptTo(mailbox('b@example.test'), null, signal())).kind).toBe('continue');
    expect((await pipeline.rcptTo(mailbox('c@other.test'), null, signal())).kind).toBe('other-profile');
    expect((await pipeline.rcptTo(mailbox('vip@example.test'), null, signal())).kind).toBe('other-profile');
    const v = await pipeline.data(view, { from: null, recipients: [] }, signal());
    expect(v.score).toBe(2);
    expect(v.profile).toBe('default');
    pipeline.reset();
    expect((await pipeline.rcptTo(mailbox('c@other.test'), null, signal())).kind).toBe('continue');
    expect(pipeline.transactionProfile.thresholds.reject).toBe(3);
  });

  it('softens every 5xx to 4xx in soft-bounce mode', async () => {
    const c = fixed('guard', [SYM('NO', 0, { action: 'reject' })], {});
    const { policy } = setup([entry(c)], { softBounce: true });
    const f = policy.scoreFinding({ symbol: 'NO' }, 'guard', 'rcptTo', false, policy.defaultProfile);
    expect(decisionReply(policy, 'reject', f, 'rcptTo')).toMatchObject({ code: 450, status: '4.7.1' });
  });
});

describe('messageView', () => {
  it('parses folded fields with positions and finds the body', () => {
    const raw = Buffer.from('Subject: one\r\n two\r\nX-A:b\r\n\r\nbody\r\n');
    const v = messageView(raw, raw.length, async function* () {});
    expect(v.headers.map((h) => [h.name, h.value])).toEqual([['Subject', 'one two'], ['X-A', 'b']]);
    expect(raw.subarray(v.headers[0]?.start, v.headers[0]?.end).toString()).toBe('Subject: one\r\n two\r\n');
    expect(raw.subarray(v.bodyOffset).toString()).toBe('body\r\n');
    expect(v.malformedHeader).toBe(false);
    expect(v.header('subject')?.value).toBe('one two');
  });

  it('ends the header section at a line that is not a field, and says so', () => {
    const raw = Buffer.from('Subject: x\r\nthis is not a header\r\nX-B: c\r\n\r\n');
    const v = messageView(raw, raw.length, async function* () {});
    expect(v.headers.map((h) => h.key)).toEqual(['subject']);
    expect(v.malformedHeader).toBe(true);
    expect(v.bodyOffset).toBe(raw.indexOf('this'));
  });

  it('does not call a header cut by the scan limit malformed', () => {
    const raw = Buffer.from('Subject: x\r\nX-Long: aaaa');
    const v = messageView(raw, 10_000, async function* () {});
    expect(v.truncated).toBe(true);
    expect(v.malformedHeader).toBe(false);
  });
});
