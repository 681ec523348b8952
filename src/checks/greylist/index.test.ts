import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession, type CheckEntry } from '../../pipeline/runner.js';
import type { Domain, ReversePath } from '../../smtp/address.js';
import { SqliteStateStore } from '../../store/sqlite/state.js';
import { greylist, greylistSchema, tripletSender } from './index.js';
import { ManualClock, mailbox, NO_PARAMS } from '../../../test/support/check-context.js';

const MIN = 60_000;
const DAY = 86_400_000;
const isLocal = (d: Domain): boolean => d === 'example.test';
const signal = (): AbortSignal => AbortSignal.timeout(5000);
let dir: string;
let clock: ManualClock;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-greylist-'));
  clock = new ManualClock(1_700_000_000_000);
  store = new SqliteStateStore(join(dir, 'state.db'), clock);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function setup(config: Record<string, unknown> = {}, state = store) {
  const c = greylistSchema.parse({ enabled: true, ...config });
  const checks: CheckEntry[] = [{ check: greylist(c, { state, clock }), observe: c.observe, failOpen: c.failOpen }];
  const policy = createPolicy(checks, policySchema.parse({}));
  const failOpen: string[] = [];
  const open = (clientIp = '192.0.2.10'): PipelineSession =>
    new PipelineSession({ checks, policy, isLocal, onFailOpen: (check) => failOpen.push(check) }, { id: 's', clientIp, clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
  /** One attempt: MAIL, then RCPT for each recipient; the kinds of the RCPT outcomes. */
  const attempt = async (from: string | null, to: string | string[], clientIp?: string, before?: (p: PipelineSession) => void): Promise<string[]> => {
    const p = open(clientIp);
    const sender: ReversePath = from === null ? null : mailbox(from);
    await p.mailFrom(sender, NO_PARAMS, signal());
    before?.(p);
    const out: string[] = [];
    for (const r of Array.isArray(to) ? to : [to]) out.push((await p.rcptTo(mailbox(r), sender, signal())).kind);
    return out;
  };
  return { policy, open, attempt, failOpen };
}

describe('greylist', () => {
  it('defers the first sight of a triplet with 451 4.7.1 "Greylisted" and names GREYLIST', async () => {
    const { open, policy } = setup();
    const p = open();
    await p.mailFrom(mailbox('alice@sender.example'), NO_PARAMS, signal());
    const o = await p.rcptTo(mailbox('bob@example.test'), mailbox('alice@sender.example'), signal());
    expect(o.kind).toBe('defer');
    if (o.kind !== 'defer') return;
    expect(o.because.symbol).toBe('GREYLIST');
    expect(decisionReply(policy, 'defer', o.because, 'rcptTo')).toMatchObject({ code: 451, status: '4.7.1', lines: ['Greylisted, please try again later'] });
  });

  it('keeps deferring an early retry, passes one after the delay, and then remembers the triplet', async () => {
    const { attempt } = setup();
    expect(await attempt('alice@sender.example', 'bob@example.test')).toEqual(['defer']);
    clock.t += 4 * MIN;
    expect(await attempt('alice@sender.example', 'bob@example.test')).toEqual(['defer']);
    clock.t += MIN; // 5 minutes after the first sight: ripe
    expect(await attempt('alice@sender.example', 'bob@example.test')).toEqual(['continue']);
    clock.t += 10 * DAY;
    expect(await attempt('alice@sender.example', 'bob@example.test')).toEqual(['continue']);
    // Another recipient, sender or client network is another triplet.
    expect(await attempt('alice@sender.example', 'carol@example.test')).toEqual(['defer']);
    expect(await attempt('eve@sender.example', 'bob@example.test')).toEqual(['defer']);
    expect(await attempt('alice@sender.example', 'bob@example.test', '198.51.100.1')).toEqual(['defer']);
    // The same /24 is the same client.
    expect(await attempt('alice@sender.example', 'bob@example.test', '192.0.2.200')).toEqual(['continue']);
  });

  it('does not move the first sight on early retries', async () => {
    const { attempt } = setup({ delay: '5m' });
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
    for (let i = 0; i < 4; i++) {
      clock.t += MIN;
      expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
    }
    clock.t += MIN;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
  });

  it('starts anew when the retry comes after the retry window', async () => {
    const { attempt } = setup({ delay: '5m', retryWindow: '2d' });
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
    clock.t += 2 * DAY;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
    clock.t += 5 * MIN;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
  });

  it('forgets a passed triplet after its lifetime, and each pass refreshes it', async () => {
    const { attempt } = setup({ lifetime: '35d', autoAllowAfter: 0 });
    await attempt('a@s.example', 'bob@example.test');
    clock.t += 5 * MIN;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
    clock.t += 30 * DAY;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['continue']); // refreshed: 35 d from now
    clock.t += 30 * DAY;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
    clock.t += 35 * DAY;
    expect(await attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
  });

  it('defers each new recipient of a transaction and passes the known ones; all pass together on the retry', async () => {
    const { attempt } = setup();
    expect(await attempt('a@s.example', ['bob@example.test'])).toEqual(['defer']);
    clock.t += 5 * MIN;
    expect(await attempt('a@s.example', ['bob@example.test', 'carol@example.test', 'dave@example.test'])).toEqual(['continue', 'defer', 'defer']);
    clock.t += 5 * MIN;
    expect(await attempt('a@s.example', ['bob@example.test', 'carol@example.test', 'dave@example.test'])).toEqual(['continue', 'continue', 'continue']);
  });

  it('auto-allows a client network after N distinct passed triplets', async () => {
    const { attempt } = setup({ autoAllowAfter: 3 });
    const rcpts = ['r1@example.test', 'r2@example.test', 'r3@example.test'];
    expect(await attempt('a@s.example', rcpts)).toEqual(['defer', 'defer', 'defer']);
    clock.t += 5 * MIN;
    // The same triplet passing again does not count twice.
    expect(await attempt('a@s.example', rcpts.slice(0, 2))).toEqual(['continue', 'continue']);
    expect(await attempt('a@s.example', rcpts.slice(0, 2))).toEqual(['continue', 'continue']);
    expect(await attempt('new@s.example', 'r9@example.test')).toEqual(['defer']);
    expect(await attempt('a@s.example', rcpts[2] as string)).toEqual(['continue']);
    // Three distinct passes: any triplet from the network now passes at once, another network does not.
    expect(await attempt('new2@other.example', 'r9@example.test', '192.0.2.99')).toEqual(['continue']);
    expect(await attempt('new2@other.example', 'r9@example.test', '198.51.100.1')).toEqual(['defer']);
  });

  it('greylists the null sender like any other sender', async () => {
    const { attempt } = setup();
    expect(await attempt(null, 'bob@example.test')).toEqual(['defer']);
    clock.t += 5 * MIN;
    expect(await attempt(null, 'bob@example.test')).toEqual(['continue']);
  });

  it('folds VERP numbers and BATV tags in the sender, so each message of a list is not a new triplet', async () => {
    expect(tripletSender(mailbox('prvs=1234abcd=Alice@S.example'))).toBe('alice@s.example');
    expect(tripletSender(mailbox('list-bounces-42-bob=example.test@lists.example'))).toBe('list-bounces-#-bob=example.test@lists.example');
    expect(tripletSender(null)).toBe('<>');
    const { attempt } = setup();
    await attempt('bounces-1001@lists.example', 'bob@example.test');
    clock.t += 5 * MIN;
    expect(await attempt('bounces-1002@lists.example', 'bob@example.test')).toEqual(['continue']);
  });

  it('skips allowlisted clients and senders, internal networks and SPF passes from listed domains', async () => {
    const { attempt } = setup({ internalNetworks: ['10.0.0.0/8', '2001:db8::/32'], skipSpfPassDomains: ['.bigmail.example'] });
    const allowSession = (p: PipelineSession): void => void (p.facts.allowlisted = { by: 'dnsbl', detail: 'list.dnswl.example' });
    const allowTx = (p: PipelineSession): void => void (p.transactionFacts.allowlisted = { by: 'sender-lists', detail: 'sender' });
    const spf = (result: 'pass' | 'softfail', domain: string) => (p: PipelineSession): void => void (p.transactionFacts.spf = { result, domain });
    expect(await attempt('a@s.example', 'bob@example.test', undefined, allowSession)).toEqual(['continue']);
    expect(await attempt('a@s.example', 'bob@example.test', undefined, allowTx)).toEqual(['continue']);
    expect(await attempt('a@s.example', 'bob@example.test', '10.9.8.7')).toEqual(['continue']);
    expect(await attempt('a@s.example', 'bob@example.test', '::ffff:10.9.8.7')).toEqual(['continue']);
    expect(await attempt('a@s.example', 'bob@example.test', '2001:db8::1')).toEqual(['continue']);
    expect(await attempt('a@out.bigmail.example', 'bob@example.test', undefined, spf('pass', 'out.bigmail.example'))).toEqual(['continue']);
    expect(await attempt('a@out.bigmail.example', 'bob@example.test', undefined, spf('softfail', 'out.bigmail.example'))).toEqual(['defer']);
    expect(await attempt('a@s.example', 'bob@example.test', undefined, spf('pass', 's.example'))).toEqual(['defer']);
  });

  it('shares triplets between two workers on one store file', async () => {
    const other = new SqliteStateStore(join(dir, 'state.db'), clock);
    try {
      const w1 = setup({}, store);
      const w2 = setup({}, other);
      expect(await w1.attempt('a@s.example', 'bob@example.test')).toEqual(['defer']);
      clock.t += 5 * MIN;
      // The other worker never saw this triplet itself: it passes on what the first one stored.
      expect(await w2.attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
      expect(await w1.attempt('a@s.example', 'bob@example.test')).toEqual(['continue']);
    } finally {
      await other.close();
    }
  });

  it('accepts without greylisting when the store fails (fail open by default), and logs every use', async () => {
    const { attempt, failOpen } = setup();
    await store.close();
    expect(await attempt('a@s.example', ['bob@example.test', 'carol@example.test'])).toEqual(['continue', 'continue']);
    expect(failOpen).toEqual(['greylist', 'greylist']);
  });

  it('defers with GREYLIST_TEMPFAIL when the store fails and failOpen is false', async () => {
    const { open, policy } = setup({ failOpen: false });
    await store.close();
    const p = open();
    await p.mailFrom(mailbox('a@s.example'), NO_PARAMS, signal());
    const o = await p.rcptTo(mailbox('bob@example.test'), mailbox('a@s.example'), signal());
    expect(o.kind).toBe('defer');
    if (o.kind !== 'defer') return;
    expect(o.because).toMatchObject({ symbol: 'GREYLIST_TEMPFAIL', transient: true });
    expect(decisionReply(policy, 'defer', o.because, 'rcptTo')).toMatchObject({ code: 451, status: '4.7.1' });
  });

  it('is off by default and refuses a delay not shorter than the retry window', () => {
    expect(greylistSchema.parse({}).enabled).toBe(false);
    const r = greylistSchema.safeParse({ delay: '3d', retryWindow: '2d' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['retryWindow']);
  });
});
