// Tuning on the train split only (corpus README: rules of use): k-fold cross-validation of the
// Bayes classifier inside train-ham + train-spam. Each message is tokenized once (Moat's tokenizer
// and MIME parse); per fold the counts of the other folds are summed in memory, the held-out
// messages classified, and their structure score (mime-structure's default scores) added, so
// each parameter set gives out-of-fold totals as `moat scan` would compute them. Prints per
// parameter set FPR and recall at the default tag threshold, and recall at FPR ≤ 0.1%.
// Usage: node dist/bench/accuracy/tune.js [--folds 5] [--chrono]
import { parseArgs } from 'node:util';
import { messageView } from '../../src/pipeline/message.js';
import { classify, DEFAULT_PARAMS, type BayesParams, type TokenCounts } from '../../src/scan/bayes/classifier.js';
import { bucketFindings, BUCKETS, BAYES_999 } from '../../src/scan/bayes/index.js';
import { tokenizeParsed } from '../../src/scan/bayes/tokenize.js';
import { findStructure, structureCheck } from '../../src/scan/structure/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { metrics, type Scored } from './metrics.js';
import { loadSplit } from './split.js';

interface Sample {
  readonly label: 'spam' | 'ham';
  readonly tokens: readonly string[];
  readonly structure: number;
  fold: number;
  /** Date: of the message (ms), for the chronological validation. */
  readonly time: number;
}

const { values } = parseArgs({ options: { folds: { type: 'string', default: '5' }, chrono: { type: 'boolean', default: false } } });
const folds = Number(values.folds);
const structureScores = new Map(structureCheck(systemClock).symbols.map((s) => [s.name, s.score]));
const messages = await loadSplit('train', undefined, (l) => process.stderr.write(`${l}\n`));
const samples: Sample[] = [];
let i = 0;
for (const m of messages) {
  const view = messageView(m.raw, m.raw.length, async function* () {});
  const parsed = await view.mime();
  const structure = findStructure(parsed, Date.now()).reduce((s, f) => s + (structureScores.get(f.symbol) ?? 0) * (f.weight ?? 1), 0);
  // Folds interleaved through each list: every fold spans the whole train period.
  samples.push({ label: m.label, tokens: tokenizeParsed(view, parsed), structure, fold: i++ % folds, time: parsed.headers.date?.time ?? 0 });
}
// --chrono: one "fold", the newest 30% of train by Date:, learned from the older 70% — the test
// split's situation (mail newer than anything learned) inside train.
if (values.chrono === true) {
  const order = [...samples].sort((a, b) => a.time - b.time);
  const cut = Math.floor(order.length * 0.7);
  order.forEach((s, k) => (s.fold = k < cut ? 1 : 0));
}
process.stderr.write(`${samples.length} train messages tokenized\n`);

/** Out-of-fold probabilities under one parameter set (tokens passed through `keep`, to try leaving some out). */
function crossValidate(p: BayesParams, keep: (t: string) => boolean = () => true): { label: 'spam' | 'ham'; probability: number; structure: number }[] {
  const out: { label: 'spam' | 'ham'; probability: number; structure: number }[] = [];
  for (let f = 0; f < (values.chrono === true ? 1 : folds); f++) {
    const counts = new Map<string, { spam: number; ham: number }>();
    let nspam = 0;
    let nham = 0;
    for (const s of samples) {
      if (s.fold === f) continue;
      if (s.label === 'spam') nspam++;
      else nham++;
      for (const t of s.tokens) {
        if (!keep(t)) continue;
        const c = counts.get(t) ?? { spam: 0, ham: 0 };
        c[s.label]++;
        counts.set(t, c);
      }
    }
    const get = (t: string): TokenCounts | undefined => counts.get(t);
    for (const s of samples) if (s.fold === f) out.push({ label: s.label, probability: classify(s.tokens, get, nspam, nham, p).probability, structure: s.structure });
  }
  return out;
}

const scoreOf = new Map<string, number>([...BUCKETS.map((b) => [b.name, b.score] as const), [BAYES_999.name, BAYES_999.score]]);
type Variant = [string, BayesParams, ((t: string) => boolean)?];
const HEADER_PREFIXES = ['from:', 'reply-to:', 'to:', 'subject:', 'message-id:', 'list-', 'x-mailer:', 'user-agent:', 'received:', 'content-type:'];
const grid: Variant[] = process.env['TUNE_GRID'] === '0' ? [] : [
  ['default', DEFAULT_PARAMS],
  ['s=0.1', { ...DEFAULT_PARAMS, strength: 0.1 }],
  ['s=1', { ...DEFAULT_PARAMS, strength: 1 }],
  ['mindist=0.2', { ...DEFAULT_PARAMS, minDistance: 0.2 }],
  ['mindist=0.346', { ...DEFAULT_PARAMS, minDistance: 0.346 }],
  ['clues=50', { ...DEFAULT_PARAMS, maxClues: 50 }],
  ['clues=300', { ...DEFAULT_PARAMS, maxClues: 300 }],
  ['hapax=0.5', { ...DEFAULT_PARAMS, hapaxWeight: 0.5 }],
  ['hapax=0', { ...DEFAULT_PARAMS, hapaxWeight: 0 }],
  ['no received:', DEFAULT_PARAMS, (t) => !t.startsWith('received:')],
  ['no received:/message-id:/x-mailer:', DEFAULT_PARAMS, (t) => !/^(received|message-id|x-mailer|user-agent):/.test(t)],
  ['no header tokens', DEFAULT_PARAMS, (t) => !HEADER_PREFIXES.some((p) => t.startsWith(p))],
  ['no htmltag:/mime:', DEFAULT_PARAMS, (t) => !/^(htmltag|mime):/.test(t)],
];
process.stdout.write('| params | FPR @tag 5 | recall @tag 5 | recall @FPR≤0.1% | ham p≥0.99 | spam p<0.99 |\n|---|---|---|---|---|---|\n');
for (const [name, p, keep] of grid) {
  const cv = crossValidate(p, keep);
  const rows: Scored[] = cv.map((r) => {
    const score = r.structure + bucketFindings(r.probability, 1).reduce((s, f) => s + (scoreOf.get(f.symbol) ?? 0), 0);
    return { label: r.label, score, flagged: score >= 5 };
  });
  const probRows: Scored[] = cv.map((r) => ({ label: r.label, score: r.probability, flagged: r.probability >= 0.99 }));
  const m = metrics(rows);
  const mp = metrics(probRows);
  process.stdout.write(`| ${name} | ${(m.fpr * 100).toFixed(2)}% (${m.fp}) | ${(m.recall * 100).toFixed(1)}% | ${(mp.recallAtFpr * 100).toFixed(1)}% | ${mp.fp} | ${mp.fn} |\n`);
}

// Where the out-of-fold probabilities of each class fall, per bucket (for the bucket scores).
const cv = crossValidate(DEFAULT_PARAMS);
process.stdout.write('\n| bucket | ham | spam | ham with structure ≥ 1 | spam with structure ≥ 1 |\n|---|---|---|---|---|\n');
for (const b of BUCKETS) {
  const inB = cv.filter((r) => r.probability >= b.low && r.probability < b.high);
  const n = (l: string, s = 0): number => inB.filter((r) => r.label === l && r.structure >= s).length;
  process.stdout.write(`| ${b.name} | ${n('ham')} | ${n('spam')} | ${n('ham', 1)} | ${n('spam', 1)} |\n`);
}
const n999 = (l: string): number => cv.filter((r) => r.label === l && r.probability >= BAYES_999.low).length;
process.stdout.write(`| ${BAYES_999.name} | ${n999('ham')} | ${n999('spam')} | | |\n`);
