// Accuracy figures over scored messages: the confusion matrix at the system's own verdicts, FPR,
// spam recall, precision, F1, and spam recall at FPR ≤ a bound by a sweep over score thresholds
// (the best any single threshold on that system's scores achieves). Pure functions.
export interface Scored {
  readonly label: 'spam' | 'ham';
  readonly score: number;
  /** The system's own verdict flagged it (Moat: tag, quarantine or reject; SA: is spam; Rspamd: an action other than no action/greylist). */
  readonly flagged: boolean;
}

export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export interface Metrics extends Confusion {
  readonly fpr: number;
  readonly recall: number;
  readonly precision: number;
  readonly f1: number;
  /** Spam recall at the lowest threshold whose FPR ≤ the bound, and that threshold. */
  readonly recallAtFpr: number;
  readonly thresholdAtFpr: number;
  readonly fprBound: number;
}

export function confusion(rows: readonly Scored[]): Confusion {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (const r of rows) {
    if (r.label === 'spam') {
      if (r.flagged) tp++;
      else fn++;
    } else if (r.flagged) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/**
 * The best spam recall over thresholds t (flagged when score ≥ t) with FPR ≤ bound. Candidate
 * thresholds are just above each ham score (and the lowest score), so ties count against the system.
 */
export function recallAtFpr(rows: readonly Scored[], bound: number): { recall: number; threshold: number } {
  const ham = rows.filter((r) => r.label === 'ham').map((r) => r.score).sort((a, b) => b - a);
  const spam = rows.filter((r) => r.label === 'spam').map((r) => r.score);
  if (spam.length === 0) return { recall: 0, threshold: Infinity };
  const allowed = Math.floor(bound * ham.length + 1e-9); // false positives allowed
  // The threshold must sit above the (allowed+1)-th highest ham score.
  const top = ham[allowed];
  const threshold = top === undefined ? -Infinity : nextUp(top);
  const caught = spam.filter((s) => s >= threshold).length;
  return { recall: caught / spam.length, threshold };
}

function nextUp(x: number): number {
  return x + Math.max(1e-9, Math.abs(x) * 1e-12);
}

export function metrics(rows: readonly Scored[], fprBound = 0.001): Metrics {
  const c = confusion(rows);
  const fpr = c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const at = recallAtFpr(rows, fprBound);
  return { ...c, fpr, recall, precision, f1, recallAtFpr: at.recall, thresholdAtFpr: at.threshold, fprBound };
}
