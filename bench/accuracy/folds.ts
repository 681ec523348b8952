// The validations inside the train split that fit.ts and tokens.ts share: 5-fold interleaved
// cross-validation, and the chronological one (the newest 30% by Date: held out, learned from the
// older 70%: the test split's situation inside train). Bayes probabilities out of fold, counted in
// memory with Moat's own classifier (no store). Trusts its inputs to be index-aligned.
import { classify, DEFAULT_PARAMS, type BayesParams, type Classification } from '../../src/scan/bayes/classifier.js';

export type Validation = 'cv5' | 'chrono';

/** The fold each message is held out in; for chrono 0 = held out, 1 = learned. */
export function folds(kind: Validation, times: readonly number[]): number[] {
  if (kind === 'cv5') return times.map((_, i) => i % 5);
  const order = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
  const f = new Array<number>(times.length).fill(1);
  order.forEach(([, i], k) => (f[i] = k < Math.floor(order.length * 0.7) ? 1 : 0));
  return f;
}

/**
 * Each message's Bayes probability when its fold was not learned (NaN: never held out, chrono's
 * learned 70%). `heldOut` sees each classification (to print the misclassified ones).
 */
export function outOfFold(
  kind: Validation,
  labels: readonly ('spam' | 'ham')[],
  times: readonly number[],
  tokens: readonly (readonly string[])[],
  p: BayesParams = DEFAULT_PARAMS,
  heldOut?: (i: number, r: Classification) => void,
): number[] {
  const fold = folds(kind, times);
  const out = new Array<number>(labels.length).fill(Number.NaN);
  for (let f = 0; f < (kind === 'cv5' ? 5 : 1); f++) {
    const counts = new Map<string, { spam: number; ham: number }>();
    let nspam = 0;
    let nham = 0;
    labels.forEach((label, i) => {
      if (fold[i] === f) return;
      if (label === 'spam') nspam++;
      else nham++;
      for (const t of tokens[i] ?? []) {
        const c = counts.get(t) ?? { spam: 0, ham: 0 };
        c[label]++;
        counts.set(t, c);
      }
    });
    labels.forEach((_, i) => {
      if (fold[i] !== f) return;
      const r = classify(tokens[i] ?? [], (t) => counts.get(t), nspam, nham, p);
      out[i] = r.probability;
      heldOut?.(i, r);
    });
  }
  return out;
}
