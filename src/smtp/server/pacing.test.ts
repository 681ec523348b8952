import { describe, expect, it } from 'vitest';
import { CommandRate, tarpitDelay } from './pacing.js';

describe('pacing', () => {
  it('tarpits nothing up to afterErrors, then a delay growing by one step per error, up to the cap', () => {
    const t = { afterErrors: 2, delayMs: 1000, maxDelayMs: 3500 };
    expect([1, 2, 3, 4, 5, 6].map((n) => tarpitDelay(n, t))).toEqual([0, 0, 1000, 2000, 3000, 3500]);
    expect(tarpitDelay(9, { ...t, delayMs: 0 })).toBe(0);
  });

  it('counts commands in fixed windows', () => {
    let now = 0;
    const r = new CommandRate({ count: 3, perMs: 1000 }, () => now);
    expect([r.take(), r.take(), r.take(), r.take()]).toEqual([true, true, true, false]);
    now = 1000;
    expect(r.take()).toBe(true);
    expect(new CommandRate(null).take()).toBe(true);
  });
});
