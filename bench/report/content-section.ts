// The content suites' sections of docs/benchmarks.md: accuracy on the chronological test split
// (bench/accuracy/suite.ts) and full-scan throughput (bench/accuracy/scan-suite.ts), each from its
// newest result, with the command that produced it. No plots: the tables are the figures.
// Trusts: results of this bench version (checked loosely). Fails: throws on another version.
import type { AccuracyReport } from '../accuracy/suite.js';
import { renderAccuracyMarkdown } from '../accuracy/suite.js';
import type { ScanReport } from '../accuracy/scan-suite.js';
import { renderScanMarkdown } from '../accuracy/scan-suite.js';
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

const source = (file: string, command: string | undefined, load: number | undefined): string =>
  `Source: \`${file}\`${command ? `, made by \`${command}\`` : ''}; 1-minute load average at the start: ${load ?? '?'} (the machine is shared: read speeds as ratios measured under the same load).`;

export function accuracySection(r: AccuracyReport, file: string): Section {
  return { markdown: ['## Content verdicts: accuracy', '', renderAccuracyMarkdown(r), source(file, r.command, r.machine.loadAtStart), ''].join('\n'), svgs: new Map() };
}

export function scanSection(r: ScanReport, file: string): Section {
  return { markdown: ['## Content verdicts: full-scan throughput', '', renderScanMarkdown(r), source(file, r.command, r.machine.loadAtStart), ''].join('\n'), svgs: new Map() };
}
