// The StateStore contract, run against both implementations: the embedded SQLite file and a real
// redis-server started on loopback (test/harness/redis.ts). TTLs are real and short; expiry is
// waited for as a condition with a bound, never with a fixed sleep. The Redis part also proves the
// failure mode the checks rely on: Redis gone → every call rejects at once with a transient
// StoreError (never hangs, never crashes), and the same store works again once Redis is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../../test/harness/redis.js';
import { stopAll } from '../../test/harness/process.js';
import { waitUntil } from '../../test/harness/wait.js';
import { systemClock } from '../platform/clock.js';
import { RedisStateStore } from './redis/state.js';
import { SqliteStateStore } from './sqlite/state.js';
import { StoreError, type StateStore } from './state.js';

let dir: string;
let redis: RedisHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-state-contract-'));
  redis = await startRedis();
});

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const redisStore = (port: number, prefix: string): RedisStateStore =>
  new RedisStateStore({ url: `redis://127.0.0.1:${port}/0`, keyPrefix: prefix, commandTimeoutMs: 1000, connectTimeoutMs: 1000 });

const implementations: readonly [string, () => Promise<StateStore>][] = [
  ['sqlite', async () => new SqliteStateStore(join(dir, `state-${Math.random()}.db`), systemClock)],
  [
    'redis',
    async () => {
      const s = redisStore(redis.port, `t${Math.random().toString(36).slice(2)}:`);
      await s.ready(5000);
      return s;
    },
  ],
];

const expired = async (probe: () => Promise<boolean>, what: string): Promise<number> => {
  const t0 = Date.now();
  await waitUntil(async () => (await probe()) || undefined, { timeoutMs: 3000, what, intervalMs: 10 });
  return Date.now() - t0;
};

describe.each(implementations)('StateStore contract: %s', (_name, open) => {
  it('gets what was set until its TTL has passed', async () => {
    const s = await open();
    await s.set('a', 'one', 300);
    expect(await s.get('a')).toBe('one');
    expect(await s.get('never')).toBeNull();
    await expired(async () => (await s.get('a')) === null, 'a to expire');
    await s.set('a', 'two', 60_000); // set replaces value and TTL
    await s.set('a', 'three', 60_000);
    expect(await s.get('a')).toBe('three');
    await s.close();
  });

  it('setIfAbsent keeps a live value and takes an expired key', async () => {
    const s = await open();
    expect(await s.setIfAbsent('g', 'first', 300)).toBe(true);
    expect(await s.setIfAbsent('g', 'second', 300)).toBe(false);
    expect(await s.get('g')).toBe('first');
    await expired(async () => s.setIfAbsent('g', 'third', 60_000), 'g to be free again');
    expect(await s.get('g')).toBe('third');
    await s.close();
  });

  it('increments a counter (fractions, negatives) whose lifetime starts at creation and is not pushed out', async () => {
    const s = await open();
    expect(await s.increment('c', 1, 60_000)).toBe(1);
    expect(await s.increment('c', 2.5, 60_000)).toBe(3.5);
    expect(await s.increment('c', -1, 60_000)).toBe(2.5);
    // Incremented every 10 ms with a 300 ms TTL: it must still restart at 1 once 300 ms are over.
    expect(await s.increment('short', 1, 300)).toBe(1);
    const took = await expired(async () => (await s.increment('short', 1, 300)) === 1, 'the short counter to restart');
    expect(took).toBeLessThan(2000);
    await s.close();
  });

  it('deletes', async () => {
    const s = await open();
    await s.set('d', 'x', 60_000);
    await s.delete('d');
    await s.delete('absent');
    expect(await s.get('d')).toBeNull();
    expect(await s.setIfAbsent('d', 'y', 60_000)).toBe(true);
    await s.close();
  });

  it('counts concurrent increments from many callers exactly once each', async () => {
    const s = await open();
    await Promise.all(Array.from({ length: 200 }, () => s.increment('n', 1, 60_000)));
    expect(await s.increment('n', 0, 60_000)).toBe(200);
    await s.close();
  });
});

describe('RedisStateStore', () => {
  it('keeps its keys under the prefix and lets Redis hold the TTL', async () => {
    const a = redisStore(redis.port, 'nodeA:');
    const b = redisStore(redis.port, 'nodeB:');
    await Promise.all([a.ready(5000), b.ready(5000)]);
    await a.set('k', 'from-a', 60_000);
    expect(await b.get('k')).toBeNull(); // another prefix is another gateway
    const same = redisStore(redis.port, 'nodeA:');
    await same.ready(5000);
    expect(await same.get('k')).toBe('from-a'); // the same prefix is the same cluster
    await Promise.all([a.close(), b.close(), same.close()]);
  });

  it('rejects at once with a transient StoreError while Redis is down, and works again when it is back', async () => {
    const own = await startRedis();
    const s = redisStore(own.port, 'x:');
    await s.ready(5000);
    await s.set('kept', 'v', 60_000);
    await own.stop();
    const t0 = Date.now();
    const err = await s.get('kept').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).transient).toBe(true);
    expect((err as StoreError).message).not.toContain('redis://');
    expect(Date.now() - t0).toBeLessThan(1500);
    await expect(s.increment('c', 1, 1000)).rejects.toBeInstanceOf(StoreError);
    // Back on the same port (a fresh, empty Redis): the store reconnects by itself.
    const again = await startRedis({ port: own.port });
    await waitUntil(async () => (await s.setIfAbsent('back', '1', 60_000)) || undefined, { timeoutMs: 10_000, what: 'the store to reconnect' });
    expect(await s.get('back')).toBe('1');
    await s.close();
    await again.stop();
  });

  it('a store whose Redis never answered rejects instead of hanging', async () => {
    const closed = await startRedis();
    const port = closed.port;
    await closed.stop();
    const s = redisStore(port, 'y:');
    await expect(s.ready(300)).rejects.toBeInstanceOf(StoreError);
    await expect(s.get('k')).rejects.toBeInstanceOf(StoreError);
    await s.close();
  });
});
