/**
 * bayes: the learned verdict. Tokenizes the message (tokenize.ts), asks the Bayes store for the
 * counts of its tokens in one lookup, combines the strongest clues (classifier.ts) and reports the
 * spam probability as one of SpamAssassin's buckets (BAYES_00 … BAYES_99, BAYES_999 on top of
 * BAYES_99), the probability in the detail. Silent until at least `minSpam` spam and `minHam` ham
 * messages were learned (a classifier that knows a dozen messages guesses). Trusts the store's
 * counts. Fails: a store error throws; the check is fail-open by default (a broken token database
 * must not stop mail: Bayes only scores), so the failure is logged and the message goes on.
 * Auto-learning (off by default) learns a message whose score without Bayes was confident.
 * Every learned message also carries its tokenizer's version marker (tokenizerMarker), so that a
 * database learned by another tokenizer is reported (tokenizerWarning) instead of silently
 * giving worse verdicts.
 */
import { createHash } from 'node:crypto';
import type { MessageView } from '../../pipeline/message.js';
import type { Check, Finding, SymbolDef, VerdictSummary } from '../../pipeline/types.js';
import type { Clock } from '../../platform/clock.js';
import { tokenHash, type BayesClass, type BayesStore, type LearnOutcome, type TokenHash } from '../../store/bayes.js';
import { classify, DEFAULT_PARAMS, type BayesParams } from './classifier.js';
import { tokenize, TOKENIZER_VERSION } from './tokenize.js';
import type { BayesConfig } from './config.js';
export { bayesSchema, type BayesConfig } from './config.js';

/**
 * Buckets of the probability, SpamAssassin's: [low, high) and the default score. Scores fitted on
 * the train split only, with every rule and structure score at once (bench/accuracy/fit.ts: a
 * logistic regression in points, tag threshold 5 at even odds, ham weighted 10×, over the
 * out-of-fold buckets of a 5-fold and of a chronological cross-validation inside train; buckets
 * kept monotone and none below −4, so that a poisoned or young database cannot whitewash a message).
 * Refitted, the rule scores held (FIT_FREEZE_RULES=1), after the tokenizer gained word bigrams and
 * Robinson's s went to 0.2: probabilities are more decided, the middle buckets say less.
 * BAYES_99 (+ BAYES_999) tags alone; BAYES_80/95 need a rule more (train ham newsletters reach
 * p 0.95–0.99 when learned from older mail).
 */
export const BUCKETS: readonly { readonly name: string; readonly low: number; readonly high: number; readonly score: number }[] = [
  { name: 'BAYES_00', low: 0, high: 0.01, score: -4 },
  { name: 'BAYES_05', low: 0.01, high: 0.05, score: -2.2 },
  { name: 'BAYES_20', low: 0.05, high: 0.2, score: -1.7 },
  { name: 'BAYES_40', low: 0.2, high: 0.4, score: 0.1 },
  { name: 'BAYES_50', low: 0.4, high: 0.6, score: 0.1 },
  { name: 'BAYES_60', low: 0.6, high: 0.8, score: 1.8 },
  { name: 'BAYES_80', low: 0.8, high: 0.95, score: 3.8 },
  { name: 'BAYES_95', low: 0.95, high: 0.99, score: 4.3 },
  { name: 'BAYES_99', low: 0.99, high: 1.0000001, score: 9.2 },
];
/** Reported beside BAYES_99 when the probability is at least 0.999. */
export const BAYES_999 = { name: 'BAYES_999', low: 0.999, score: 4.4 };

const SYMBOLS: readonly SymbolDef[] = [
  ...BUCKETS.map((b) => ({ name: b.name, description: `Bayes spam probability ${b.low * 100}% to ${Math.min(b.high, 1) * 100}%`, score: b.score })),
  { name: BAYES_999.name, description: 'Bayes spam probability 99.9% to 100% (beside BAYES_99)', score: BAYES_999.score },
];

/** Symbols of this check: excluded from the score that decides auto-learning. */
export const BAYES_SYMBOLS: ReadonlySet<string> = new Set(SYMBOLS.map((s) => s.name));

/** The findings for a probability. */
export function bucketFindings(probability: number, clues: number): Finding[] {
  const detail = `probability ${probability.toFixed(4)} from ${clues} clue(s)`;
  const b = BUCKETS.find((x) => probability >= x.low && probability < x.high) ?? BUCKETS[BUCKETS.length - 1];
  const out: Finding[] = b ? [{ symbol: b.name, detail }] : [];
  if (probability >= BAYES_999.low) out.push({ symbol: BAYES_999.name, detail });
  return out;
}

/**
 * The id a message is learned under: SHA-1 of its Message-ID and its body octets, so that the same
 * message learned again (from a Maildir and from the quarantine, with our headers added) is known,
 * and two messages with one forged Message-ID are not.
 */
export function learnedId(view: MessageView): string {
  const h = createHash('sha1');
  h.update(view.header('message-id')?.value.trim() ?? '');
  h.update('\0');
  h.update(view.raw.subarray(view.bodyOffset));
  return h.digest('hex');
}

/**
 * The version marker learned with every message: the hash of a token no message can make (the
 * tokenizer's tokens never start with NUL). Its counts say how many learned messages this version
 * of the tokenizer learned, in any store (SQLite, Redis) and through forget and relearn alike, with
 * no schema of its own. It is never a clue: the check classifies the message's own tokens only.
 */
export function tokenizerMarker(version: number = TOKENIZER_VERSION): TokenHash {
  return tokenHash(`\0moat-tokenizer:v${version}`);
}

/** Versions looked for beside the current one (a database learned by a newer Moat is noticed too). */
const NEWER_VERSIONS = 8;

/** The tokens a message is learned with: its own and the version marker. */
export async function learnTokens(view: MessageView): Promise<TokenHash[]> {
  return [...(await tokenize(view)).map(tokenHash), tokenizerMarker()];
}

/**
 * Null when every learned message was learned by this tokenizer (or none was learned), else the
 * warning to log: which versions learned how many messages ("none recorded": learned by a Moat
 * older than version markers). One lookup of the markers; a store error rejects.
 */
export async function tokenizerWarning(store: Pick<BayesStore, 'lookup'>): Promise<string | null> {
  const versions = Array.from({ length: TOKENIZER_VERSION + NEWER_VERSIONS }, (_, i) => i + 1);
  const markers = versions.map((v) => tokenizerMarker(v));
  const { totals, counts } = await store.lookup(markers);
  const learned = totals.spam + totals.ham;
  if (learned === 0) return null;
  const by = versions.map((v, i) => {
    const c = counts.get(markers[i] as bigint);
    return { v, n: c ? c.spam + c.ham : 0 };
  });
  const current = by.find((b) => b.v === TOKENIZER_VERSION)?.n ?? 0;
  if (current >= learned) return null;
  const others = by.filter((b) => b.v !== TOKENIZER_VERSION && b.n > 0).sort((a, b) => b.n - a.n);
  const none = Math.max(0, learned - by.reduce((a, b) => a + b.n, 0));
  const parts = [...others.map((b) => `tokenizer v${b.v} (${b.n} of ${learned} messages)`), ...(none > 0 ? [`no recorded tokenizer, a Moat older than v${TOKENIZER_VERSION} (${none} of ${learned})`] : [])];
  if (current > 0) parts.push(`this tokenizer (${current} of ${learned})`);
  return `Bayes database was learned by ${parts.join(', ')}, this Moat uses tokenizer v${TOKENIZER_VERSION}: relearn (a new database, moat learn spam|ham again); until then Bayes verdicts are worse`;
}

export interface Learner {
  learn(view: MessageView, as: BayesClass): Promise<LearnOutcome>;
}

/** Learns single messages (quarantine training, auto-learning); `moat learn` batches its own. */
export function learner(store: BayesStore, clock: Clock): Learner {
  return {
    async learn(view, as) {
      const tokens = await learnTokens(view);
      const [outcome] = await store.learn([{ id: learnedId(view), as, tokens }], clock.now());
      return outcome ?? 'known';
    },
  };
}

/** The class auto-learning gives a verdict, or null (not confident, or a hard action decided). */
export function autoLearnClass(v: VerdictSummary, rule: { readonly spamAbove: number; readonly hamBelow: number }): BayesClass | null {
  if (v.action === 'defer' || v.findings.some((f) => f.transient)) return null;
  const score = v.findings.reduce((s, f) => s + (BAYES_SYMBOLS.has(f.symbol) ? 0 : f.score), 0);
  if (score >= rule.spamAbove) return 'spam';
  if (score <= rule.hamBelow) return 'ham';
  return null;
}

export function bayesCheck(config: BayesConfig, store: BayesStore, clock: Clock, params: BayesParams = DEFAULT_PARAMS): Check {
  const auto = config.autoLearn;
  const learn = learner(store, clock);
  return {
    name: 'bayes',
    symbols: SYMBOLS,
    open: () => ({
      async data(message) {
        const tokens = await tokenize(message);
        const hashes = tokens.map(tokenHash);
        const { totals, counts } = await store.lookup(hashes);
        if (totals.spam < config.minSpam || totals.ham < config.minHam) return [];
        const byToken = new Map<string, { spam: number; ham: number }>();
        tokens.forEach((t, i) => {
          const c = counts.get(hashes[i] as bigint);
          if (c) byToken.set(t, c);
        });
        const r = classify(tokens, (t) => byToken.get(t), totals.spam, totals.ham, params);
        return bucketFindings(r.probability, r.clues.length);
      },
      ...(auto
        ? {
            async decided(v: VerdictSummary, message: MessageView) {
              const as = autoLearnClass(v, auto);
              if (as) await learn.learn(message, as);
            },
          }
        : {}),
    }),
  };
}
