// The content suites' sections of docs/benchmarks.md: accuracy on the chronological test split
// (bench/accuracy/suite.ts) and full-scan throughput (bench/accuracy/scan-suite.ts). Each system's
// row comes from the newest full result that has it (pick.ts), so a later run of Moat alone does
// not hide the anchors' figures; the section is dated per run (a run column when the rows come
// from several), with the machine, each command and the load average beside every speed figure,
// and a speed ratio only between rows of the same run. Accuracy rows are taken only from results
// on the same split as the newest. No plots: the tables are the figures.
// Trusts: results of this bench version (checked loosely). Fails: throws on another version.
import type { AccuracyReport, RowSource, SystemResult } from '../accuracy/suite.js';
import { renderAccuracyMarkdown } from '../accuracy/suite.js';
import type { ScanReport, ScanSystemResult } from '../accuracy/scan-suite.js';
import { renderScanMarkdown } from '../accuracy/scan-suite.js';
import { describeMachine } from '../relay/report.js';
import { fullOrNewestQuick, pickNewestPerKey, sourcesOf } from './pick.js';
import type { Picked, Source } from './pick.js';
import { runHeader } from './relay-section.js';
import type { RunOf, Section } from './relay-section.js';

export function checkAccuracyReport(r: unknown, file: string): AccuracyReport {
  const x = r as Partial<AccuracyReport> | null;
  if (x === null || x.suite !== 'accuracy' || x.version !== 1 || !Array.isArray(x.systems)) throw new Error(`${file} is not an accuracy report of this bench version (re-run: npm run bench:accuracy)`);
  return x as AccuracyReport;
}

export function checkScanReport(r: unknown, file: string): ScanReport {
  const x = r as Partial<ScanReport> | null;
  if (x === null || x.suite !== 'scan' || x.version !== 1 || !Array.isArray(x.systems)) throw new Error(`${file} is not a scan report of this bench version (re-run: npm run bench:scan)`);
  return x as ScanReport;
}

const SPEED_NOTE =
  'The machine is shared: verdicts do not depend on its load, msg/s does; read each rate beside the load average of its own turn, and compare systems by ratios measured in the same run.';

/** How Moat's scores were chosen: from the train split only, so the test split stays unseen. */
const SCORES_NOTE = [
  "Moat's scores: the rule, structure, URL and Bayes bucket scores were fitted on the train split",
  'only (`node dist/bench/accuracy/fit.js --fit`: out-of-fold Bayes buckets from a 5-fold and from a',
  'chronological cross-validation inside train, one logistic regression in points over every symbol,',
  'tag threshold 5; rules/moat/*.cf say how); the test split is only measured. SpamAssassin and Rspamd',
  'run with their shipped scores and their own Bayes learned on the same train split.',
].join('\n');

const SCAN_NOTE =
  "Moat's time is the whole `moat scan` command (start-up: config, rule compilation, the Bayes store, worker threads); spamd and Rspamd are daemons already running, so on a subset Moat's start-up weighs more than over the whole split.";

function utcMinute(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function machineWithoutLoad(r: RunOf): string {
  const { loadAtStart: _load, ...machine } = r.machine;
  return describeMachine({ machine });
}

/**
 * The section's opening lines: runHeader's for one run; for several, one line per run (when, how
 * long it took when recorded, the file, the rows it gave, its load at the start, its command) and
 * the machine once (per run when they differ).
 */
function header<R extends RunOf, Row>(picked: readonly Picked<R, Row>[], label: (row: Row) => string, suite: string): string[] {
  const sources = sourcesOf(picked);
  const only = sources[0];
  if (only === undefined) return [];
  if (sources.length === 1) return runHeader(only.report, only.file, suite);
  const machine = machineWithoutLoad(only.report);
  return [
    "**Runs:** each system's figures come from the newest full result that has it (a later run of fewer systems does not hide the others'):",
    '',
    ...sources.map((src) => {
      const rows = picked.filter((p) => p.source === src).map((p) => label(p.row));
      const load = src.report.machine.loadAtStart === undefined ? '' : `; load average ${src.report.machine.loadAtStart} at the start`;
      const other = machineWithoutLoad(src.report) === machine ? '' : `; machine: ${machineWithoutLoad(src.report)}`;
      const took = src.report.durationSec === undefined ? '' : ` (${src.report.durationSec.toFixed(0)} s)`;
      return `- ${utcMinute(src.report.startedAt)}${took}, \`${src.file}\`: ${rows.join(', ')}${load}${other}; \`${src.report.command ?? `node dist/bench/run.js ${suite} (exact arguments not recorded)`}\``;
    }),
    '',
    `**Machine:** ${machine}.`,
  ];
}

/** The row → run mapping for the renderers; undefined when every row is of one run (no run column). */
function rowSources<R extends { readonly startedAt: string }, Row>(picked: readonly Picked<R, Row>[]): ((row: Row) => RowSource) | undefined {
  if (sourcesOf(picked).length < 2) return undefined;
  const by = new Map(picked.map((p) => [p.row, { run: utcMinute(p.source.report.startedAt), id: p.source.file }] as const));
  return (row) => by.get(row) ?? { run: '?', id: '?' };
}

/** A content section and the result files (relative to the repository) its rows come from. */
export interface ContentSection extends Section {
  readonly sources: readonly string[];
}

const sameSplit = (a: AccuracyReport, b: AccuracyReport): boolean => JSON.stringify(a.counts) === JSON.stringify(b.counts);

/** The accuracy section from every accuracy result, newest first (see the header). */
export function accuracySection(newestFirst: readonly Source<AccuracyReport>[]): ContentSection {
  const usable = fullOrNewestQuick(newestFirst);
  const base = usable[0];
  if (base === undefined) throw new Error('accuracySection: no result');
  const onSplit = usable.filter((u) => sameSplit(u.report, base.report));
  const picked = pickNewestPerKey(onSplit, (r) => r.systems, (s: SystemResult) => s.system);
  const offSplit = pickNewestPerKey(usable, (r) => r.systems, (s: SystemResult) => s.system).filter((p) => !picked.some((q) => q.key === p.key));
  const merged: AccuracyReport = { ...base.report, systems: picked.map((p) => p.row), skipped: base.report.skipped.filter((k) => !picked.some((p) => p.key === k.system)) };
  const md = [
    '## Content verdicts: accuracy',
    '',
    ...header(picked, (s) => s.version, 'accuracy'),
    '',
    renderAccuracyMarkdown(merged, rowSources(picked)),
    ...offSplit.map((p) => `Not shown: ${p.row.version}, measured only on another split (\`${p.source.file}\`).\n`),
    SPEED_NOTE,
    '',
    SCORES_NOTE,
    '',
  ];
  return { markdown: md.join('\n'), svgs: new Map(), sources: sourcesOf(picked).map((x) => x.file) };
}

/** A scan row's identity across runs: the system, and Moat + clamd apart from plain Moat (the suite labels it so). */
export function scanRowKey(s: ScanSystemResult): string {
  return s.version.endsWith(' + clamd') ? `${s.system}+clamd` : s.system;
}

/** The scan section from every scan result, newest first (see the header). */
export function scanSection(newestFirst: readonly Source<ScanReport>[]): ContentSection {
  const usable = fullOrNewestQuick(newestFirst);
  const base = usable[0];
  if (base === undefined) throw new Error('scanSection: no result');
  const picked = pickNewestPerKey(usable, (r) => r.systems, scanRowKey);
  const merged: ScanReport = { ...base.report, systems: picked.map((p) => p.row), skipped: base.report.skipped.filter((k) => !picked.some((p) => p.row.system === k.system)) };
  const md = ['## Content verdicts: full-scan throughput', '', ...header(picked, (s) => s.version, 'scan'), '', renderScanMarkdown(merged, rowSources(picked)), SPEED_NOTE, '', SCAN_NOTE, ''];
  return { markdown: md.join('\n'), svgs: new Map(), sources: sourcesOf(picked).map((x) => x.file) };
}
