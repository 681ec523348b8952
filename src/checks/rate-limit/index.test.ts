import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession, type CheckEntry, type PhaseOutcome } from '../../pipeline/runner.js';
import type { Domain } from '../../smtp/address.js';
import { SqliteStateStore } from '../../store/sqlite/state.js';
import { rateLimit, rateLimitSchema, take } from './index.js';
import { ManualClock, mailbox, NO_PARAMS } from '../../../test/support/check-context.js';

const HOUR = 3_600_000;
const isLocal = (d: Domain): boolean => d === 'example.test';
const signal = (): AbortSignal => AbortSignal.timeout(5000);
let dir: string;
let clock: ManualClock;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-ratelimit-'));
  // The start of an hour window, so that elapsed fractions are exact.
  clock = new ManualClock(472_222 * HOUR);
  store = new SqliteStateStore(join(dir, 'state.db'), clock);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function setup(config: Record<string, unknown>) {
  const c = rateLimitSchema.parse(config);
  const checks: CheckEntry[] = [{ check: rateLimit(c, { state: store, clock }), observe: c.observe, failOpen: c.failOpen }];
  const policy = createPolicy(checks, policySchema.parse({}));
  const open = (clientIp = '192.0.2.10'): PipelineSession =>
    new PipelineSession({ checks, policy, isLocal }, { id: 's', clientIp, clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
  const mail = async (from: string | null, clientIp?: string): Promise<PhaseOutcome> => open(clientIp).mailFrom(from === null ? null : mailbox(from), NO_PARAMS, signal());
  const rcpts = async (from: string | null, to: string[], clientIp?: string): Promise<string[]> => {
    const p = open(clientIp);
    const sender = from === null ? null : mailbox(from);
    await p.mailFrom(sender, NO_PARAMS, signal());
    const out: string[] = [];
    for (const r of to) {
      const o = await p.rcptTo(mailbox(r), sender, signal());
      out.push(o.kind === 'defer' ? `defer:${o.because.symbol}` : o.kind);
    }
    return out;
  };
  return { policy, mail, rcpts };
}

const kinds = async (n: number, f: () => Promise<PhaseOutcome>): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await f()).kind);
  return out;
};

describe('rate-limit', () => {
  it('lets N messages from a client through and defers the next with 450 4.7.1', async () => {
    const { mail, policy } = setup({ messagesPerClient: { count: 3, per: '1h' } });
    expect(await kinds(3, () => mail('a@s.example'))).toEqual(['continue', 'continue', 'continue']);
    const o = await mail('b@other.example');
    expect(o.kind).toBe('defer');
    if (o.kind !== 'defer') return;
    expect(o.because.symbol).toBe('RATE_LIMIT_CLIENT_MESSAGES');
    expect(decisionReply(policy, 'defer', o.because, 'mailFrom')).toMatchObject({ code: 450, status: '4.7.1', lines: ['Too much mail from this client, try again later'] });
    // Another client has its own budget (clientNetwork.ipv4 is 32 by default).
    expect((await mail('a@s.example', '192.0.2.11')).kind).toBe('continue');
  });

  it('slides: the previous window counts with the part of it still inside the sliding window', async () => {
    const { mail } = setup({ messagesPerClient: { count: 4, per: '1h' } });
    expect(await kinds(4, () => mail('a@s.example'))).toEqual(['continue', 'continue', 'continue', 'continue']);
    clock.t += HOUR; // next window, elapsed 0: the 4 still weigh fully
    expect((await mail('a@s.example')).kind).toBe('defer');
    clock.t += HOUR / 2; // 4 × 0.5 = 2: two more fit
    expect(await kinds(3, () => mail('a@s.example'))).toEqual(['continue', 'continue', 'defer']);
    clock.t += HOUR * 2; // both windows gone
    expect(await kinds(4, () => mail('a@s.example'))).toEqual(['continue', 'continue', 'continue', 'continue']);
  });

  it('does not count deferred attempts, so a client retrying while over its limit gets back in when the window slides', async () => {
    const { mail } = setup({ messagesPerClient: { count: 2, per: '1h' } });
    await kinds(2, () => mail('a@s.example'));
    expect(await kinds(20, () => mail('a@s.example'))).toEqual(Array(20).fill('defer'));
    clock.t += HOUR + HOUR / 2;
    expect((await mail('a@s.example')).kind).toBe('continue');
  });

  it('limits per sender across clients, and never the null sender', async () => {
    const { mail } = setup({ messagesPerSender: { count: 2, per: '10m' } });
    expect((await mail('Bulk@S.example', '192.0.2.1')).kind).toBe('continue');
    expect((await mail('bulk@s.example', '198.51.100.1')).kind).toBe('continue');
    const o = await mail('bulk@s.example', '203.0.113.1');
    expect(o.kind === 'defer' && o.because.symbol).toBe('RATE_LIMIT_SENDER_MESSAGES');
    expect(await kinds(5, () => mail(null))).toEqual(Array(5).fill('continue'));
  });

  it('limits recipients per client and messages per recipient at RCPT, each recipient on its own', async () => {
    const a = setup({ recipientsPerClient: { count: 3, per: '1h' } });
    expect(await a.rcpts('a@s.example', ['r1@example.test', 'r2@example.test', 'r3@example.test', 'r4@example.test'])).toEqual([
      'continue',
      'continue',
      'continue',
      'defer:RATE_LIMIT_CLIENT_RECIPIENTS',
    ]);
    const b = setup({ messagesPerRecipient: { count: 2, per: '1h' } });
    expect(await b.rcpts('x@s.example', ['bob@example.test', 'carol@example.test'], '198.51.100.7')).toEqual(['continue', 'continue']);
    expect(await b.rcpts('y@t.example', ['bob@example.test'], '203.0.113.7')).toEqual(['continue']);
    expect(await b.rcpts('z@u.example', ['BOB@example.test', 'carol@example.test'], '203.0.113.8')).toEqual(['defer:RATE_LIMIT_RECIPIENT_MESSAGES', 'continue']);
  });

  it('gives back the counts of a command that a later limit refused', async () => {
    const { rcpts } = setup({ recipientsPerClient: { count: 10, per: '1h' }, messagesPerRecipient: { count: 1, per: '1h' } });
    expect(await rcpts('a@s.example', ['bob@example.test'])).toEqual(['continue']);
    expect(await rcpts('a@s.example', ['bob@example.test', 'bob@example.test', 'bob@example.test'])).toEqual(Array(3).fill('defer:RATE_LIMIT_RECIPIENT_MESSAGES'));
    // Only the one accepted recipient used the client's budget: nine more fit.
    const nine = Array.from({ length: 9 }, (_, i) => `r${i}@example.test`);
    expect(await rcpts('a@s.example', [...nine, 'r9@example.test'])).toEqual([...Array(9).fill('continue'), 'defer:RATE_LIMIT_CLIENT_RECIPIENTS']);
  });

  it('does not limit internal networks, and does nothing without limits', async () => {
    const { mail } = setup({ messagesPerClient: { count: 1, per: '1h' }, internalNetworks: ['192.0.2.0/24'] });
    expect(await kinds(3, () => mail('a@s.example'))).toEqual(['continue', 'continue', 'continue']);
    await store.close();
    const none = setup({});
    expect((await none.mail('a@s.example')).kind).toBe('continue');
  });

  it('defers with RATE_LIMIT_TEMPFAIL when the store fails', async () => {
    const { mail } = setup({ messagesPerClient: { count: 10, per: '1h' } });
    await store.close();
    const o = await mail('a@s.example');
    expect(o.kind === 'defer' && o.because.symbol).toBe('RATE_LIMIT_TEMPFAIL');
  });

  it('estimates with two stores on one file as one counter (two workers)', async () => {
    const other = new SqliteStateStore(join(dir, 'state.db'), clock);
    try {
      const l = { count: 3, per: 60_000 };
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await take(i % 2 === 0 ? store : other, clock.now(), 'mc', 'net', l)).ok);
      expect(results).toEqual([true, true, true, false]);
    } finally {
      await other.close();
    }
  });

  it('refuses a window under a second and a count under one, with their paths', () => {
    const r = rateLimitSchema.safeParse({ messagesPerClient: { count: 0, per: '500ms' } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['messagesPerClient.count', 'messagesPerClient.per']);
  });
});
