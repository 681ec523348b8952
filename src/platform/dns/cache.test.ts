import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { AnswerCache, cacheKey } from './cache.js';

/** Wall time under the test's control; timers stay real (the cache sets none). */
function manualClock(): Clock & { t: number } {
  const c = { t: 1_000_000, now: () => c.t, setTimer: systemClock.setTimer };
  return c;
}

describe('AnswerCache', () => {
  it('counts the TTL down on the clock and forgets the answer when it runs out', () => {
    const clock = manualClock();
    const cache = new AnswerCache(10, clock);
    cache.set(cacheKey('A', 'a.test'), { kind: 'ok', records: ['127.0.0.1'] }, 300);
    expect(cache.get(cacheKey('A', 'a.test'))).toEqual({ kind: 'ok', records: ['127.0.0.1'], ttl: 300 });
    clock.t += 100_400;
    expect(cache.get(cacheKey('A', 'a.test'))).toMatchObject({ ttl: 200 });
    clock.t += 199_599;
    expect(cache.get(cacheKey('A', 'a.test'))).toMatchObject({ ttl: 1 });
    clock.t += 1;
    expect(cache.get(cacheKey('A', 'a.test'))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps the type apart: A and TXT of one name are two entries', () => {
    const cache = new AnswerCache(10, manualClock());
    cache.set(cacheKey('A', 'a.test'), { kind: 'ok', records: ['127.0.0.1'] }, 60);
    cache.set(cacheKey('TXT', 'a.test'), { kind: 'none', reason: 'nodata' }, 60);
    expect(cache.get(cacheKey('TXT', 'a.test'))).toEqual({ kind: 'none', reason: 'nodata', ttl: 60 });
    expect(cache.get(cacheKey('A', 'a.test'))).toMatchObject({ kind: 'ok' });
  });

  it('past maxEntries evicts the least recently used entry only, not everything', () => {
    const cache = new AnswerCache(3, manualClock());
    for (const n of ['a', 'b', 'c']) cache.set(cacheKey('A', n), { kind: 'ok', records: [n] }, 60);
    expect(cache.get(cacheKey('A', 'a'))).toBeDefined(); // a is now the most recent
    cache.set(cacheKey('A', 'd'), { kind: 'ok', records: ['d'] }, 60);
    expect(cache.size).toBe(3);
    expect(cache.get(cacheKey('A', 'b'))).toBeUndefined();
    for (const n of ['a', 'c', 'd']) expect(cache.get(cacheKey('A', n)), n).toBeDefined();
  });

  it('stores nothing for a TTL of 0 or with maxEntries 0', () => {
    const cache = new AnswerCache(10, manualClock());
    cache.set('A:a', { kind: 'ok', records: [] }, 0);
    expect(cache.size).toBe(0);
    const none = new AnswerCache(0, manualClock());
    none.set('A:a', { kind: 'ok', records: [] }, 60);
    expect(none.size).toBe(0);
  });
});
