import { describe, expect, it } from 'vitest';
import { chi2Q, classify, DEFAULT_PARAMS, tokenProbability } from './classifier.js';

describe('Bayes arithmetic', () => {
  it("computes Robinson's f(w): unseen tokens get x, rare ones are shrunk toward it", () => {
    const S = DEFAULT_PARAMS.strength;
    expect(S).toBe(0.2);
    expect(tokenProbability({ spam: 0, ham: 0 }, 100, 100)).toBe(0.5);
    // seen once, in spam only: p = 1, f = (S·0.5 + 1·1) / (S + 1)
    expect(tokenProbability({ spam: 1, ham: 0 }, 100, 100)).toBeCloseTo(1.1 / 1.2, 12);
    // seen in 10 spam and 10 ham of 200 spam / 100 ham: p = 0.05 / (0.05 + 0.1) = 1/3, n = 20
    expect(tokenProbability({ spam: 10, ham: 10 }, 200, 100)).toBeCloseTo((S * 0.5 + 20 / 3) / (S + 20), 12);
    // SpamBayes' S = 0.45 shrinks a hapax further toward x
    expect(tokenProbability({ spam: 1, ham: 0 }, 100, 100, { ...DEFAULT_PARAMS, strength: 0.45 })).toBeCloseTo(1.225 / 1.45, 12);
    // a hapax weight of 0 makes a hapax no evidence at all
    expect(tokenProbability({ spam: 1, ham: 0 }, 100, 100, { ...DEFAULT_PARAMS, hapaxWeight: 0 })).toBe(0.5);
  });

  it('chi2Q is the chi-square survival function (even degrees of freedom)', () => {
    // v = 2: Q = exp(-x/2)
    expect(chi2Q(3, 2)).toBeCloseTo(Math.exp(-1.5), 12);
    // v = 4: Q = exp(-m)(1 + m), m = x/2
    expect(chi2Q(6, 4)).toBeCloseTo(Math.exp(-3) * 4, 12);
    expect(chi2Q(0, 10)).toBe(1);
    expect(chi2Q(10_000, 300)).toBe(0);
  });

  it('combines clues with Fisher\'s method: spammy clues near 1, hammy near 0, none 0.5', () => {
    const table = new Map([
      ['viagra', { spam: 50, ham: 0 }],
      ['cheap', { spam: 40, ham: 2 }],
      ['meeting', { spam: 1, ham: 60 }],
      ['agenda', { spam: 0, ham: 30 }],
      ['the', { spam: 50, ham: 50 }],
    ]);
    const get = (t: string) => table.get(t);
    const spam = classify(['viagra', 'cheap', 'the'], get, 100, 100);
    expect(spam.probability).toBeGreaterThan(0.9);
    // "the" is no clue: |f - 0.5| < 0.1
    expect(spam.clues.map((c) => c.token)).toEqual(['viagra', 'cheap']);
    expect(classify(['meeting', 'agenda', 'the'], get, 100, 100).probability).toBeLessThan(0.1);
    expect(classify(['the', 'unknown'], get, 100, 100)).toEqual({ probability: 0.5, clues: [] });
    // Mixed evidence lands in the middle, and the result does not depend on token order.
    const mixed = classify(['viagra', 'agenda'], get, 100, 100);
    expect(mixed.probability).toBeGreaterThan(0.3);
    expect(mixed.probability).toBeLessThan(0.7);
    expect(classify(['agenda', 'viagra'], get, 100, 100)).toEqual(mixed);
  });

  it('a known small example: two clues of 0.9 and one of 0.2', () => {
    const f = new Map([['a', 0.9], ['b', 0.9], ['c', 0.2]]);
    // Counts that give exactly these f with s = 0 (no shrinking): spam share p = f.
    const params = { ...DEFAULT_PARAMS, strength: 0 };
    const counts = (t: string) => {
      const p = f.get(t) as number;
      return { spam: Math.round(p * 1000), ham: Math.round((1 - p) * 1000) };
    };
    const lnH = Math.log(0.9) * 2 + Math.log(0.2);
    const lnS = Math.log(0.1) * 2 + Math.log(0.8);
    const h = 1 - chi2Q(-2 * lnH, 6);
    const s = 1 - chi2Q(-2 * lnS, 6);
    const r = classify(['a', 'b', 'c'], counts, 1000, 1000, params);
    expect(r.probability).toBeCloseTo((1 + s - h) / 2, 9);
    expect(r.clues.map((c) => c.token)).toEqual(['a', 'b', 'c']);
    expect(r.probability).toBeGreaterThan(0.5);
  });

  it('keeps at most maxClues, the strongest', () => {
    const get = (t: string) => (t.startsWith('s') ? { spam: Number(t.slice(1)), ham: 0 } : { spam: 0, ham: 100 });
    const tokens = ['s1', 's2', 's50', 'h'];
    const r = classify(tokens, get, 100, 100, { ...DEFAULT_PARAMS, maxClues: 2 });
    expect(r.clues.map((c) => c.token).sort()).toEqual(['h', 's50']);
  });
});
