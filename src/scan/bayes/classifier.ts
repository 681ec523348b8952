/**
 * The Bayes arithmetic, pure: Gary Robinson's smoothed token probability f(w) and Fisher's method
 * of combining the most significant ones into a spam probability (the chi-square combining of
 * SpamBayes, also SpamAssassin's Bayes.pm). No I/O, no state; the counts come from the store.
 *
 *  p(w) = (s/nspam) / (s/nspam + h/nham)              the spam share of w, per learned message
 *  f(w) = (S·X + n·p(w)) / (S + n),  n = s + h         shrunk toward X when w was seen rarely
 *  H = C⁻¹(−2 Σ ln f(w), 2N),  S = C⁻¹(−2 Σ ln(1−f(w)), 2N)   over the N strongest clues
 *  P = (1 + H − S) / 2   (H, S: probabilities that the clues are not evidence of spam / ham)
 *
 * A token is a clue when |f(w) − 0.5| ≥ minDistance; at most maxClues of them, the strongest.
 * Hapaxes (n = 1) are kept but their f is shrunk by S like every rare token; `hapaxWeight` < 1
 * shrinks them further (they are most of the vocabulary and the noisiest part of it).
 */

export interface TokenCounts {
  readonly spam: number;
  readonly ham: number;
}

export interface BayesParams {
  /** Robinson's s: how many messages' worth of belief the prior X is given. */
  readonly strength: number;
  /** Robinson's x: the probability assumed for a token never seen. */
  readonly unknown: number;
  /** Tokens with |f − 0.5| below this are no clue. */
  readonly minDistance: number;
  /** The strongest clues combined, at most. */
  readonly maxClues: number;
  /** A token seen in only one learned message counts as this many (1: as any other). */
  readonly hapaxWeight: number;
}

/**
 * Chosen on the train split only (bench/accuracy/fit.ts, README "Bayes"), by the chronological
 * validation inside train (newest 30% learned from the older 70%): S = 0.2 (SpamBayes: 0.45)
 * trusts a token's counts sooner, which with the word bigrams keeps newer spam above the newest
 * ham (recall at FPR ≤ 0.1% 85.0% → 89.8%, no ham at p ≥ 0.99) at the cost of little in the 5-fold
 * one; X = 0.5, minDistance 0.1 and 150 clues did as well as anything nearby (SpamBayes: 0.1 and
 * 150; SA: 0.346 and 150).
 */
export const DEFAULT_PARAMS: BayesParams = { strength: 0.2, unknown: 0.5, minDistance: 0.1, maxClues: 150, hapaxWeight: 1 };

/** Robinson's f(w) for a token with these counts, given the learned totals. */
export function tokenProbability(c: TokenCounts, nspam: number, nham: number, p: BayesParams = DEFAULT_PARAMS): number {
  const n0 = c.spam + c.ham;
  if (n0 === 0 || nspam === 0 || nham === 0) return p.unknown;
  const spamRatio = Math.min(c.spam, nspam) / nspam;
  const hamRatio = Math.min(c.ham, nham) / nham;
  const pw = spamRatio / (spamRatio + hamRatio);
  const n = n0 === 1 ? p.hapaxWeight : n0;
  return (p.strength * p.unknown + n * pw) / (p.strength + n);
}

/** P(χ² ≥ x2) with v degrees of freedom (v even): the survival function, as SpamBayes' chi2Q. */
export function chi2Q(x2: number, v: number): number {
  const m = x2 / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < v / 2; i++) {
    term *= m / i;
    sum += term;
  }
  return Math.min(sum, 1);
}

export interface Clue {
  readonly token: string;
  readonly probability: number;
}

export interface Classification {
  /** Spam probability in [0, 1]. */
  readonly probability: number;
  /** The clues used, strongest first. */
  readonly clues: readonly Clue[];
}

/** Combines the clues of a message's tokens (chi-square / Fisher). */
export function classify(tokens: readonly string[], counts: (token: string) => TokenCounts | undefined, nspam: number, nham: number, p: BayesParams = DEFAULT_PARAMS): Classification {
  const candidates: { token: string; probability: number; distance: number }[] = [];
  for (const token of tokens) {
    const c = counts(token);
    if (c === undefined) continue;
    const f = tokenProbability(c, nspam, nham, p);
    const distance = Math.abs(f - 0.5);
    if (distance >= p.minDistance) candidates.push({ token, probability: f, distance });
  }
  // Ties broken by the token so the result does not depend on the input order.
  candidates.sort((a, b) => b.distance - a.distance || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  const clues = candidates.slice(0, p.maxClues);
  if (clues.length === 0) return { probability: 0.5, clues: [] };
  let lnHam = 0;
  let lnSpam = 0;
  for (const c of clues) {
    lnHam += Math.log(c.probability);
    lnSpam += Math.log(1 - c.probability);
  }
  const n = clues.length;
  const h = 1 - chi2Q(-2 * lnHam, 2 * n);
  const s = 1 - chi2Q(-2 * lnSpam, 2 * n);
  return { probability: (s - h + 1) / 2, clues: clues.map(({ token, probability }) => ({ token, probability })) };
}
