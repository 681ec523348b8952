import { describe, expect, it } from 'vitest';
import { confusion, metrics, recallAtFpr, type Scored } from './metrics.js';

const row = (label: 'spam' | 'ham', score: number, threshold = 5): Scored => ({ label, score, flagged: score >= threshold });

describe('accuracy metrics', () => {
  it('counts the confusion matrix at the verdicts and derives FPR, recall, precision and F1', () => {
    const rows = [row('spam', 9), row('spam', 6), row('spam', 1), row('ham', 7), row('ham', 0), row('ham', -1), row('ham', 2), row('ham', 3)];
    expect(confusion(rows)).toEqual({ tp: 2, fp: 1, tn: 4, fn: 1 });
    const m = metrics(rows);
    expect(m.fpr).toBeCloseTo(1 / 5, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
  });

  it('sweeps thresholds for recall at FPR ≤ bound: ties with a ham count against the system', () => {
    // 1000 ham: at 0.1% one false positive is allowed. The highest ham (20) may be flagged, the next (10) not.
    const ham = [20, 10, ...Array.from({ length: 998 }, () => 0)].map((s) => row('ham', s));
    const spam = [25, 15, 10, 10, 5].map((s) => row('spam', s));
    const r = recallAtFpr([...ham, ...spam], 0.001);
    expect(r.recall).toBeCloseTo(2 / 5, 12); // 25 and 15; the spam at 10 tie with a ham and stay out
    expect(r.threshold).toBeGreaterThan(10);
    expect(r.threshold).toBeLessThan(10.001);
    // No false positive allowed among 500 ham: the threshold goes above the highest ham.
    expect(recallAtFpr([...ham.slice(0, 500), ...spam], 0.001).recall).toBeCloseTo(1 / 5, 12);
    // Everything allowed: every spam caught.
    expect(recallAtFpr([...ham, ...spam], 1).recall).toBe(1);
  });

  it('is defined on empty classes', () => {
    expect(metrics([])).toMatchObject({ fpr: 0, recall: 0, precision: 0, f1: 0, recallAtFpr: 0 });
  });
});
