// The BayesStore contract, run against both implementations: the embedded SQLite file and a real
// redis-server started on loopback (test/harness/redis.ts), each test on a fresh store (a new file,
// a new key prefix). The Redis part also proves what the cluster relies on: a lookup is a fixed
// number of commands whatever the number of tokens (one pipeline, one round trip), a learned batch
// is one script per message, two stores (two nodes) learning the same message at once count it
// once, keys stay under the prefix, and with Redis gone every call rejects at once with a
// StoreError (the bayes check's fail policy then applies) and works again once Redis is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../../test/harness/redis.js';
import { stopAll } from '../../test/harness/process.js';
import { tokenHash, type BayesStore } from './bayes.js';
import { RedisBayesStore } from './redis/bayes.js';
import { SqliteBayesStore } from './sqlite/bayes.js';
import { StoreError } from './state.js';

let dir: string;
let redis: RedisHandle;
const h = (...t: string[]) => t.map(tokenHash);
const opened: BayesStore[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-bayes-contract-'));
  redis = await startRedis();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const redisStore = async (port: number, prefix: string): Promise<RedisBayesStore> => {
  const s = new RedisBayesStore({ url: `redis://127.0.0.1:${port}/0`, keyPrefix: prefix, commandTimeoutMs: 2000, connectTimeoutMs: 1000 });
  opened.push(s);
  await s.ready(5000);
  return s;
};
const prefix = (): string => `t${Math.random().toString(36).slice(2)}:`;

const implementations: readonly [string, () => Promise<BayesStore>][] = [
  [
    'sqlite',
    async () => {
      const s = new SqliteBayesStore(join(dir, `bayes-${Math.random()}.db`));
      opened.push(s);
      return s;
    },
  ],
  ['redis', () => redisStore(redis.port, prefix())],
];

describe.each(implementations)('BayesStore contract: %s', (_name, open) => {
  let store: BayesStore;

  it('looks up many tokens in one call and keeps 64-bit keys exact', async () => {
    store = await open();
    const tokens = h(...Array.from({ length: 5000 }, (_, i) => `w${i}`));
    expect(await store.learn([{ id: 'm1', as: 'spam', tokens: tokens.slice(0, 4000) }], 1000)).toEqual(['learned']);
    const r = await store.lookup(tokens);
    expect(r.totals).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.size).toBe(4000);
    expect(r.counts.get(tokens[0] as bigint)).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.has(tokens[4500] as bigint)).toBe(false);
    // A neighbouring integer (what a float round trip would give) is another key.
    const near = (tokens[1] as bigint) + 1n;
    expect((await store.lookup([near])).counts.size).toBe(0);
    expect((await store.lookup([])).counts.size).toBe(0);
  });

  it('learning the same message twice changes nothing; a token counts once per message', async () => {
    store = await open();
    const t = h('a', 'b', 'a');
    expect(await store.learn([{ id: 'm1', as: 'ham', tokens: t }], 1000)).toEqual(['learned']);
    expect(await store.learn([{ id: 'm1', as: 'ham', tokens: t }], 2000)).toEqual(['known']);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 0, ham: 1 });
    expect(r.counts.get(tokenHash('a'))).toEqual({ spam: 0, ham: 1 });
  });

  it('relearning as the other class moves the message and its tokens', async () => {
    store = await open();
    await store.learn([{ id: 'm1', as: 'ham', tokens: h('a', 'b') }, { id: 'm2', as: 'ham', tokens: h('b') }], 1000);
    expect(await store.learn([{ id: 'm1', as: 'spam', tokens: h('a', 'b') }], 2000)).toEqual(['relearned']);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 1, ham: 1 });
    expect(r.counts.get(tokenHash('a'))).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.get(tokenHash('b'))).toEqual({ spam: 1, ham: 1 });
    expect(await store.learnedAs('m1')).toBe('spam');
  });

  it('learns a batch in one transaction, with an outcome per item', async () => {
    store = await open();
    const out = await store.learn(
      [
        { id: 'x', as: 'spam', tokens: h('a') },
        { id: 'y', as: 'ham', tokens: h('a') },
        { id: 'x', as: 'spam', tokens: h('a') },
        { id: 'y', as: 'spam', tokens: h('a') },
      ],
      1000,
    );
    expect(out).toEqual(['learned', 'learned', 'known', 'relearned']);
    expect((await store.lookup(h('a'))).counts.get(tokenHash('a'))).toEqual({ spam: 2, ham: 0 });
  });

  it('forgets a message: counts back, empty tokens removed, unknown messages skipped', async () => {
    store = await open();
    await store.learn([{ id: 'm1', as: 'spam', tokens: h('a', 'b') }, { id: 'm2', as: 'spam', tokens: h('b') }], 1000);
    expect(await store.forget([{ id: 'm1', tokens: h('a', 'b') }, { id: 'nope', tokens: h('a') }])).toEqual([true, false]);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.has(tokenHash('a'))).toBe(false);
    expect(r.counts.get(tokenHash('b'))).toEqual({ spam: 1, ham: 0 });
    expect(await store.learnedAs('m1')).toBeNull();
  });

  it('expires old rare tokens and then the least recently learned past maxTokens', async () => {
    store = await open();
    await store.learn([{ id: 'old1', as: 'spam', tokens: h('rare-old', 'common') }], 1000);
    await store.learn([{ id: 'old2', as: 'ham', tokens: h('common', 'common2') }, { id: 'old3', as: 'ham', tokens: h('common', 'common2') }], 1000);
    await store.learn([{ id: 'new', as: 'spam', tokens: h('rare-new') }], 9000);
    // rare = seen in fewer than 2 messages, old = learned before 5000
    expect(await store.expire({ before: 5000, rareBelow: 2, maxTokens: 1_000_000 })).toBe(1);
    const r = await store.lookup(h('rare-old', 'common', 'common2', 'rare-new'));
    expect([...r.counts.keys()].sort()).toEqual(h('common', 'common2', 'rare-new').sort());
    // At most 2 tokens: the least recently learned goes first.
    expect(await store.expire({ before: 0, rareBelow: 1, maxTokens: 2 })).toBe(1);
    expect((await store.lookup(h('rare-new'))).counts.size).toBe(1);
    // The totals are messages, not tokens: expiry leaves them.
    expect(await store.totals()).toEqual({ spam: 2, ham: 2 });
  });

});

/**
 * Commands Redis has run so far other than INFO (INFO commandstats, read over a separate
 * connection): exact whatever the probe itself sends (its ready check, the INFO calls).
 */
async function processed(probe: Redis): Promise<number> {
  const text = await probe.info('commandstats');
  let n = 0;
  for (const m of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) if (m[1] !== 'info') n += Number(m[2]);
  return n;
}

/** EVAL and EVALSHA calls so far (INFO commandstats). */
async function scriptCalls(probe: Redis): Promise<number> {
  const text = await probe.info('commandstats');
  const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

describe('Redis Bayes store', () => {
  it('answers a lookup of any size with the same three commands, one pipeline', async () => {
    const s = await redisStore(redis.port, prefix());
    const probe = new Redis(redis.port, '127.0.0.1');
    try {
      const few = h('a', 'b');
      const many = h(...Array.from({ length: 3000 }, (_, i) => `m${i}`));
      await s.learn([{ id: 'x', as: 'spam', tokens: many }], 1);
      const cost = async (tokens: bigint[]): Promise<number> => {
        const n0 = await processed(probe);
        await s.lookup(tokens);
        return (await processed(probe)) - n0;
      };
      expect(await cost(few)).toBe(3);
      expect(await cost(many)).toBe(3);
      // A batch of learned messages: one script call per message (the scripts' own calls count in
      // total_commands_processed, so here the script calls are counted: EVALSHA, or EVAL once).
      const e0 = await scriptCalls(probe);
      await s.learn(Array.from({ length: 20 }, (_, i) => ({ id: `b${i}`, as: 'ham' as const, tokens: many.slice(0, 200) })), 2);
      expect((await scriptCalls(probe)) - e0).toBe(20);
    } finally {
      probe.disconnect();
    }
  });

  it('keeps every key under its prefix and shares tokens between two stores (two nodes)', async () => {
    const p = prefix();
    const a = await redisStore(redis.port, p);
    const b = await redisStore(redis.port, p);
    const other = await redisStore(redis.port, prefix());
    // Both nodes learn the same message at once: counted once.
    const both = await Promise.all([a.learn([{ id: 'same', as: 'spam', tokens: h('x', 'y') }], 5), b.learn([{ id: 'same', as: 'spam', tokens: h('x', 'y') }], 5)]);
    expect(both.flat().sort()).toEqual(['known', 'learned']);
    const r = await b.lookup(h('x', 'y'));
    expect(r.totals).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.get(tokenHash('x'))).toEqual({ spam: 1, ham: 0 });
    expect(await b.learnedAs('same')).toBe('spam');
    expect((await other.lookup(h('x'))).counts.size).toBe(0);
    const probe = new Redis(redis.port, '127.0.0.1');
    try {
      const keys = await probe.keys(`${p}*`);
      expect(keys.sort()).toEqual(['atime', 'learned', 'spam', 'totals'].map((k) => `${p}bayes:${k}`));
    } finally {
      probe.disconnect();
    }
  });

  it('rejects at once with a StoreError while Redis is down, and works again when it is back', async () => {
    const own = await startRedis();
    const s = await redisStore(own.port, prefix());
    await s.learn([{ id: 'm', as: 'ham', tokens: h('a') }], 1);
    const port = own.port;
    await own.stop();
    const t0 = Date.now();
    const [lookup, learn] = await Promise.allSettled([s.lookup(h('a')), s.learn([{ id: 'n', as: 'ham', tokens: h('a') }], 2)]);
    expect(lookup.status === 'rejected' && lookup.reason instanceof StoreError).toBe(true);
    expect(learn.status === 'rejected' && learn.reason instanceof StoreError).toBe(true);
    // Never longer than the command timeout (2 s here), however long Redis stays away.
    expect(Date.now() - t0).toBeLessThan(3000);
    const back = await startRedis({ port });
    try {
      await s.ready(10_000);
      // An empty Redis (no persistence in the test): the store answers again, from scratch.
      expect((await s.lookup(h('a'))).totals).toEqual({ spam: 0, ham: 0 });
      expect(await s.learn([{ id: 'n', as: 'ham', tokens: h('a') }], 3)).toEqual(['learned']);
    } finally {
      await s.close();
      await back.stop();
    }
  });
});
