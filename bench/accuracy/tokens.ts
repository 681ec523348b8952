// Token-family ablation on the train split only (corpus README: rules of use). Tokenizes train once
// with Moat's tokenizer, then for the full token set and for the set without each token family (a
// family: a token's text up to its first ":", "word" without one) learns and classifies in memory:
// the chronological validation (newest 30% of train by Date:, learned from the older 70%: the test
// split's situation inside train) and, with --cv5, the 5-fold interleaved one. Per variant: Bayes
// alone (recall at FPR ≤ 0.1%, spam below / ham at or above p 0.99, the area under the ROC curve)
// and the full score (the other symbols from fit.ts's cache, shipped bucket scores): FPR and recall
// at the tag threshold 5, recall at FPR ≤ 0.1%. A family whose removal improves the chronological
// figures is noise there. Also prints the tokenizer's time per message.
// Usage: node dist/bench/accuracy/tokens.js [--cache .cache/fit-train.json] [--cv5] [--only fam,fam] [--drop fam,fam] [--min 20]
// (--only: the families to leave out one at a time, else every family in at least --min messages;
// --drop: families left out of every variant, to try a set without them; --show: the chronological
// fold's ham at p ≥ 0.9 and spam below 0.9 with their strongest clues, to read what goes wrong.)
// Fails: throws when the corpus cannot be installed; without fit.ts's cache the full score is left out.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { messageView } from '../../src/pipeline/message.js';
import { DEFAULT_PARAMS, type BayesParams } from '../../src/scan/bayes/classifier.js';
import { bucketFindings, BUCKETS, BAYES_999 } from '../../src/scan/bayes/index.js';
import { tokenizeParsed } from '../../src/scan/bayes/tokenize.js';
import { outOfFold, type Validation } from './folds.js';
import { metrics, type Scored } from './metrics.js';
import { loadSplit } from './split.js';

const { values } = parseArgs({
  options: {
    cache: { type: 'string', default: '.cache/fit-train.json' },
    cv5: { type: 'boolean', default: false },
    only: { type: 'string' },
    drop: { type: 'string' },
    show: { type: 'boolean', default: false },
    min: { type: 'string', default: '20' },
  },
});
const log = (l: string): void => void process.stderr.write(`${l}\n`);
const messages = await loadSplit('train', undefined, log);
const symbolScore = new Map<string, number>();
if (existsSync(values.cache)) {
  for (const s of JSON.parse(await readFile(values.cache, 'utf8')) as { name: string; symbols: { score: number }[] }[]) symbolScore.set(s.name, s.symbols.reduce((a, y) => a + y.score, 0));
} else log(`no ${values.cache} (run fit.js once): Bayes-only figures`);

const tokens: string[][] = [];
const times: number[] = [];
let tokenizeMs = 0;
for (const m of messages) {
  const view = messageView(m.raw, m.raw.length, async function* () {});
  const parsed = await view.mime();
  const t0 = performance.now();
  tokens.push(tokenizeParsed(view, parsed));
  tokenizeMs += performance.now() - t0;
  times.push(parsed.headers.date?.time ?? 0);
}
/** A token's family: its prefix ("received:ip"/"mime:type" for the two mixed ones), "word" for a bare word. */
const familyOf = (t: string): string => {
  const m = /^([a-z][a-z0-9-]*):(?:([a-z]+):)?/.exec(t);
  if (!m) return 'word';
  return (m[1] === 'received' || m[1] === 'mime') && m[2] !== undefined ? `${m[1]}:${m[2]}` : (m[1] ?? 'word');
};
const dropped = new Set(values.drop?.split(',') ?? []);
const famCount = new Map<string, number>();
for (const ts of tokens) for (const f of new Set(ts.map(familyOf))) famCount.set(f, (famCount.get(f) ?? 0) + 1);
log(`${messages.length} train messages, tokenizer ${(tokenizeMs / messages.length).toFixed(3)} ms/message, ${(tokens.reduce((a, t) => a + t.length, 0) / tokens.length).toFixed(0)} tokens/message`);

/** Out-of-fold probabilities (NaN: not held out) with the tokens `keep` accepts. */
function oof(kind: Validation, keep: (t: string) => boolean, p: BayesParams = DEFAULT_PARAMS, show = false): number[] {
  const kept = tokens.map((ts) => ts.filter((t) => keep(t) && !dropped.has(familyOf(t))));
  return outOfFold(kind, messages.map((m) => m.label), times, kept, p, (i, r) => {
    const m = messages[i];
    if (show && m && (m.label === 'ham' ? r.probability >= 0.9 : r.probability < 0.9)) {
      const strong = [...r.clues].sort((a, b) => (m.label === 'ham' ? b.probability - a.probability : a.probability - b.probability)).slice(0, 12);
      log(`${m.label} ${m.name} p=${r.probability.toFixed(3)} ${strong.map((c) => `${c.token}=${c.probability.toFixed(2)}`).join(' ')}`);
    }
  });
}

const bucketScore = new Map<string, number>([...BUCKETS.map((b) => [b.name, b.score] as const), [BAYES_999.name, BAYES_999.score]]);
/** Area under the ROC curve of p (ties count half). */
function auc(rows: { spam: boolean; p: number }[]): number {
  const sorted = [...rows].sort((a, b) => a.p - b.p);
  let rank = 0;
  let sumSpam = 0;
  let nSpam = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]?.p === sorted[i]?.p) j++;
    const r = (rank + 1 + rank + (j - i)) / 2;
    for (let k = i; k < j; k++) {
      if (sorted[k]?.spam !== true) continue;
      sumSpam += r;
      nSpam++;
    }
    rank += j - i;
    i = j;
  }
  const nHam = sorted.length - nSpam;
  return (sumSpam - (nSpam * (nSpam + 1)) / 2) / (nSpam * nHam);
}

function cells(prob: number[]): string[] {
  const p99: Scored[] = [];
  const full: Scored[] = [];
  const roc: { spam: boolean; p: number }[] = [];
  messages.forEach((m, i) => {
    const p = prob[i] ?? Number.NaN;
    if (Number.isNaN(p)) return;
    p99.push({ label: m.label, score: p, flagged: p >= 0.99 });
    roc.push({ spam: m.label === 'spam', p });
    const other = symbolScore.get(m.name);
    if (other === undefined) return;
    const score = other + bucketFindings(p, 1).reduce((a, f) => a + (bucketScore.get(f.symbol) ?? 0), 0);
    full.push({ label: m.label, score, flagged: score >= 5 });
  });
  const b = metrics(p99);
  const out = [`${(b.recallAtFpr * 100).toFixed(1)}%`, `${b.fn} / ${b.fp}`, auc(roc).toFixed(4)];
  if (full.length > 0) {
    const s = metrics(full);
    out.push(`${s.fp} FP ${(s.recall * 100).toFixed(1)}%`, `${(s.recallAtFpr * 100).toFixed(1)}%`);
  }
  return out;
}

const kinds = values.cv5 === true ? (['chrono', 'cv5'] as const) : (['chrono'] as const);
const head = kinds.flatMap((k) => [`${k} bayes r@0.1%`, `${k} spam<0.99 / ham≥0.99`, `${k} AUC`, ...(symbolScore.size > 0 ? [`${k} full @5`, `${k} full r@0.1%`] : [])]);
process.stdout.write(`| variant | messages | ${head.join(' | ')} |\n|${'---|'.repeat(head.length + 2)}\n`);
const row = (name: string, n: number, keep: (t: string) => boolean): void =>
  void process.stdout.write(`| ${name} | ${n} | ${kinds.flatMap((k) => cells(oof(k, keep))).join(' | ')} |\n`);
if (values.show === true) oof('chrono', () => true, DEFAULT_PARAMS, true);
row('all tokens', messages.length, () => true);
const only = values.only?.split(',');
const min = Number(values.min);
for (const [fam, n] of [...famCount].sort((a, b) => b[1] - a[1])) {
  if (only ? !only.includes(fam) : n < min) continue;
  row(`without ${fam}`, n, (t) => familyOf(t) !== fam);
}
