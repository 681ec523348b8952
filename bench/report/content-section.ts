// The content suites' sections of docs/benchmarks.md: accuracy on the chronological test split
// (bench/accuracy/suite.ts) and full-scan throughput (bench/accuracy/scan-suite.ts), each from its
// newest full result, dated, with the machine, the command that produced it and the load average
// beside every speed figure. No plots: the tables are the figures.
// Trusts: results of this bench version (checked loosely). Fails: throws on another version.
import type { AccuracyReport } from '../accuracy/suite.js';
import { renderAccuracyMarkdown } from '../accuracy/suite.js';
import type { ScanReport } from '../accuracy/scan-suite.js';
import { renderScanMarkdown } from '../accuracy/scan-suite.js';
import { runHeader } from './relay-section.js';
import type { Section } from './relay-section.js';

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

export function accuracySection(r: AccuracyReport, file: string): Section {
  const md = ['## Content verdicts: accuracy', '', ...runHeader(r, file, 'accuracy'), '', renderAccuracyMarkdown(r), SPEED_NOTE, '', SCORES_NOTE, ''];
  return { markdown: md.join('\n'), svgs: new Map() };
}

export function scanSection(r: ScanReport, file: string): Section {
  const md = ['## Content verdicts: full-scan throughput', '', ...runHeader(r, file, 'scan'), '', renderScanMarkdown(r), SPEED_NOTE, '', SCAN_NOTE, ''];
  return { markdown: md.join('\n'), svgs: new Map() };
}
