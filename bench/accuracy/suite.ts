// `npm run bench:accuracy`: Moat's content verdicts on the chronological test split, beside
// SpamAssassin 4 + Bayes and Rspamd 3.4 + Bayes measured in the same run on the same files.
//  1. install the corpus on demand (bench/mime/corpus.ts), write train and test as files;
//  2. a DNS stub (dnsmasq answering nothing) for every system's lookups: nothing reaches a resolver;
//  3. Moat: `moat learn` on train, `moat scan --json` on test (moat-system.ts);
//     SpamAssassin: sa-learn on train, spamd --local (spamassassin-system.ts);
//     Rspamd: Redis-backed Bayes learned through the controller, /checkv2 (rspamd-system.ts);
//  4. per system: the confusion matrix at its own verdict, FPR, spam recall, precision, F1, spam
//     recall at FPR ≤ 0.1% (threshold sweep over its scores), and Moat's ratios to each anchor.
// --quick: an evenly spread subset (250 + 250 train, 300 + 100 test), Moat only unless --systems.
// Fails: a system that cannot be started is reported under `skipped` with its reason (the others
// still run); a system that fails mid-run fails the suite.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeScratchDir, startDnsmasq, stopAll } from '../../test/harness/index.js';
import { formatLoadSpan, machineInfo, withLoadSpan, type LoadSpan, type MachineInfo } from '../lib/machine.js';
import { writeLayout, type Layout, type SystemRun } from './layout.js';
import { metrics, type Metrics } from './metrics.js';
import { runMoat } from './moat-system.js';
import { runRspamd } from './rspamd-system.js';
import { runSpamAssassin } from './spamassassin-system.js';
import { loadSplit, type LabelledMessage } from './split.js';

export type AccuracySystem = 'moat' | 'spamassassin' | 'rspamd';
export const ACCURACY_SYSTEMS: readonly AccuracySystem[] = ['moat', 'spamassassin', 'rspamd'];

export interface AccuracyOptions {
  readonly quick: boolean;
  readonly systems: readonly AccuracySystem[];
  /** spamd children and rspamd connections (default: one per core). */
  readonly concurrency: number;
  readonly log: (line: string) => void;
}

export interface SystemResult {
  readonly system: AccuracySystem;
  readonly version: string;
  readonly setup: string;
  readonly trainSeconds: number;
  readonly scanSeconds: number;
  readonly messagesPerSecond: number;
  readonly metrics: Metrics;
  /** 1-minute load average when this system's turn (training and scan) started and ended; older results lack it. */
  readonly load?: LoadSpan;
  /** Names of the test ham it flagged (for reading them). */
  readonly falsePositives: readonly string[];
}

export interface AccuracyReport {
  readonly suite: 'accuracy';
  readonly version: 1;
  readonly startedAt: string;
  /** Wall time of the whole suite; older results lack it. */
  readonly durationSec?: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly counts: { readonly train: { ham: number; spam: number }; readonly test: { ham: number; spam: number } };
  readonly systems: readonly SystemResult[];
  readonly skipped: readonly { readonly system: AccuracySystem; readonly reason: string }[];
  command?: string;
}

export const QUICK_LIMITS = { train: { ham: 250, spam: 250 }, test: { ham: 300, spam: 100 } } as const;

function count(list: readonly LabelledMessage[]): { ham: number; spam: number } {
  return { ham: list.filter((m) => m.label === 'ham').length, spam: list.filter((m) => m.label === 'spam').length };
}

export function summarize(system: AccuracySystem, r: SystemRun, load?: LoadSpan): SystemResult {
  return {
    ...(load === undefined ? {} : { load }),
    system,
    version: r.version,
    setup: r.setup,
    trainSeconds: r.trainSeconds,
    scanSeconds: r.scanSeconds,
    messagesPerSecond: r.results.length / r.scanSeconds,
    metrics: metrics(r.results),
    falsePositives: r.results.filter((x) => x.label === 'ham' && x.flagged).map((x) => x.name),
  };
}

/** The full test split's size (bench/data/corpus/test-*.txt). */
export const TEST_SPLIT = { ham: 2596, spam: 519 } as const;

/**
 * Writes the corpus split and starts the DNS stub; for this suite and the scan suite. `testMessages`
 * (scan suite) keeps an evenly spread subset of the test split of about that size, ham and spam in
 * the split's proportion; train stays whole.
 */
export async function prepare(quick: boolean, log: (line: string) => void, testMessages?: number): Promise<{ layout: Layout; dns: string }> {
  const total = TEST_SPLIT.ham + TEST_SPLIT.spam;
  const part = testMessages === undefined || testMessages >= total ? undefined : { ham: Math.round((testMessages * TEST_SPLIT.ham) / total), spam: Math.max(1, Math.round((testMessages * TEST_SPLIT.spam) / total)) };
  const train = await loadSplit('train', quick ? QUICK_LIMITS.train : undefined, log);
  const test = await loadSplit('test', quick ? QUICK_LIMITS.test : part, log);
  const dir = await makeScratchDir('moat-accuracy-');
  const layout = await writeLayout(dir, train, test);
  log(`corpus written to ${dir}: train ${JSON.stringify(count(train))}, test ${JSON.stringify(count(test))}`);
  // No records, no upstream: every query is answered at once (REFUSED/NXDOMAIN), none leaves the machine.
  await mkdir(join(dir, 'dns'), { recursive: true });
  const dns = await startDnsmasq({}, { dir: join(dir, 'dns') });
  return { layout, dns: dns.server };
}

export async function runAccuracySuite(o: AccuracyOptions): Promise<AccuracyReport> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = machineInfo();
  const { layout, dns } = await prepare(o.quick, o.log);
  const systems: SystemResult[] = [];
  const skipped: { system: AccuracySystem; reason: string }[] = [];
  for (const s of o.systems) {
    o.log(`system ${s}`);
    let r: { readonly value: SystemRun; readonly load: LoadSpan };
    try {
      r = await withLoadSpan(async () => {
        if (s === 'moat') return runMoat(layout, { dns, log: o.log });
        if (s === 'spamassassin') return runSpamAssassin(layout, { children: o.concurrency, log: o.log });
        return runRspamd(layout, { dns, workers: 2, concurrency: o.concurrency, log: o.log });
      });
    } catch (e) {
      if (s === 'moat') throw e;
      const reason = e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e);
      o.log(`${s} skipped: ${reason}`);
      skipped.push({ system: s, reason });
      continue;
    }
    const sum = summarize(s, r.value, r.load);
    o.log(`${s}: FPR ${(sum.metrics.fpr * 100).toFixed(2)}%, recall ${(sum.metrics.recall * 100).toFixed(1)}%, ${sum.messagesPerSecond.toFixed(1)} msg/s (load ${formatLoadSpan(r.load)})`);
    systems.push(sum);
  }
  await stopAll();
  return { suite: 'accuracy', version: 1, startedAt, durationSec: (performance.now() - t0) / 1000, quick: o.quick, machine, counts: { train: count(layout.train), test: count(layout.test) }, systems, skipped };
}

const pct = (x: number, d = 2): string => `${(x * 100).toFixed(d)}%`;

/**
 * Where a row's figures come from when a section puts rows of several runs together
 * (bench/report/content-section.ts): `run` is shown in the row, equal `id`s mean the same run.
 */
export interface RowSource {
  readonly run: string;
  readonly id: string;
}

/**
 * The tables of a report, as Markdown (also the docs section). With `sourceOf`, each row says
 * which run it comes from, and a ratio of speeds (which depend on the machine's load) is given
 * only between rows of the same run.
 */
export function renderAccuracyMarkdown(r: AccuracyReport, sourceOf?: (s: SystemResult) => RowSource): string {
  const runCol = (s: SystemResult): string[] => (sourceOf === undefined ? [] : [sourceOf(s).run]);
  const lines = [
    `Test split: ${r.counts.test.ham} ham, ${r.counts.test.spam} spam (trained on ${r.counts.train.ham} ham, ${r.counts.train.spam} spam)${r.quick ? ' — quick subset' : ''}; ${r.startedAt.slice(0, 10)}, ${r.machine.nproc} cores.`,
    '',
    `| system |${sourceOf === undefined ? '' : ' run |'} TP | FP | TN | FN | FPR | spam recall | precision | F1 | recall at FPR ≤ 0.1% | train s | scan msg/s | load average (start–end of its turn) |`,
    `|---|${sourceOf === undefined ? '' : '---|'}---|---|---|---|---|---|---|---|---|---|---|---|`,
    ...r.systems.map((s) => {
      const m = s.metrics;
      return `| ${[s.version, ...runCol(s)].join(' | ')} | ${m.tp} | ${m.fp} | ${m.tn} | ${m.fn} | ${pct(m.fpr)} | ${pct(m.recall, 1)} | ${pct(m.precision, 1)} | ${m.f1.toFixed(3)} | ${pct(m.recallAtFpr, 1)} | ${s.trainSeconds.toFixed(0)} | ${s.messagesPerSecond.toFixed(1)} | ${formatLoadSpan(s.load)} |`;
    }),
    '',
  ];
  const moat = r.systems.find((s) => s.system === 'moat');
  for (const a of r.systems.filter((s) => s.system !== 'moat')) {
    if (!moat) break;
    const ratio = (x: number, y: number): string => (y === 0 ? (x === 0 ? '1.00' : '∞') : (x / y).toFixed(2));
    const sameRun = sourceOf === undefined || sourceOf(moat).id === sourceOf(a).id;
    lines.push(
      `Moat / ${a.system}: FPR ×${ratio(moat.metrics.fpr, a.metrics.fpr)}, spam recall ×${ratio(moat.metrics.recall, a.metrics.recall)}, recall at FPR ≤ 0.1% ×${ratio(moat.metrics.recallAtFpr, a.metrics.recallAtFpr)}, F1 ×${ratio(moat.metrics.f1, a.metrics.f1)}, ` +
        (sameRun ? `scan speed ×${ratio(moat.messagesPerSecond, a.messagesPerSecond)}.` : 'scan speed: no ratio (not measured in the same run).'),
      '',
    );
  }
  for (const s of r.skipped) lines.push(`Skipped: ${s.system} (${s.reason}).`, '');
  lines.push('Setups:', '', ...r.systems.map((s) => `- ${s.version}: ${s.setup}.`), '');
  return lines.join('\n');
}
