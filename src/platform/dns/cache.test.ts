import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { AnswerCache } from './cache.js';

/** Wall time under the test's control; timers stay real (the cache sets none). */
function manualClock(): Clock & { t: number } {
  const c = { t: 1_000_000, now: () => c.t, setTimer: systemClock.setTimer };
  return c;
}

describe('AnswerCache', () => {
  it('counts the TTL down on the clock and forgets the answer when it runs out', () => {
    const clock = manualClock();
    const cache = new AnswerCache(10, clock);
    cache.set('a.test', 'A', { kind: 'ok', records: ['127.0.0.1'] }, 300);
    expect(cache.get('a.test', 'A')).toEqual({ kind: 'ok', records: ['127.0.0.1'], ttl: 300 });
    clock.t += 100_400;
    expect(cache.get('a.test', 'A')).toMatchObject({ ttl: 200 });
    clock.t += 199_599;
    expect(cache.get('a.test', 'A')).toMatchObject({ ttl: 1 });
    clock.t += 1;
    expect(cache.get('a.test', 'A')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps the type apart: A and TXT of one name are two entries', () => {
    const cache = new AnswerCache(10, manualClock());
    cache.set('a.test', 'A', { kind: 'ok', records: ['127.0.0.1'] }, 60);
    cache.set('a.test', 'TXT', { kind: 'none', reason: 'nodata' }, 60);
    expect(cache.get('a.test', 'TXT')).toEqual({ kind: 'none', reason: 'nodata', ttl: 60 });
    expect(cache.get('a.test', 'A')).toMatchObject({ kind: 'ok' });
  });

  it('past maxEntries evicts an entry not used since (second chance), not everything', () => {
    const cache = new AnswerCache(3, manualClock());
    for (const n of ['a', 'b', 'c']) cache.set(n, 'A', { kind: 'ok', records: [n] }, 60);
    expect(cache.get('a', 'A')).toBeDefined(); // a was used: it gets a second chance
    cache.set('d', 'A', { kind: 'ok', records: ['d'] }, 60);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 'A')).toBeUndefined();
    for (const n of ['a', 'c', 'd']) expect(cache.get(n, 'A'), n).toBeDefined();
  });

  it('counts answers, not names, against maxEntries', () => {
    const cache = new AnswerCache(3, manualClock());
    cache.set('a', 'A', { kind: 'ok', records: ['1'] }, 60);
    cache.set('a', 'TXT', { kind: 'ok', records: [['t']] }, 60);
    cache.set('a', 'A', { kind: 'ok', records: ['2'] }, 60);
    expect(cache.size).toBe(2);
    cache.set('b', 'A', { kind: 'ok', records: ['3'] }, 60);
    cache.set('c', 'A', { kind: 'ok', records: ['4'] }, 60);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 'TXT')).toBeUndefined();
    expect(cache.get('c', 'A')).toBeDefined();
  });

  it('stays bounded under a stream of distinct names, keeping the busy one', () => {
    const cache = new AnswerCache(100, manualClock());
    cache.set('busy', 'A', { kind: 'ok', records: ['1'] }, 60);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`n${i}`, 'A', { kind: 'ok', records: [] }, 60);
      expect(cache.get('busy', 'A')).toBeDefined();
    }
    expect(cache.size).toBe(100);
  });

  it('stores nothing for a TTL of 0 or with maxEntries 0', () => {
    const cache = new AnswerCache(10, manualClock());
    cache.set('a', 'A', { kind: 'ok', records: [] }, 0);
    expect(cache.size).toBe(0);
    const none = new AnswerCache(0, manualClock());
    none.set('a', 'A', { kind: 'ok', records: [] }, 60);
    expect(none.size).toBe(0);
  });
});
