// The relay section of docs/benchmarks.md: when and where it ran, the command, one table per
// connection mode with each system's medians and the ratios to each anchor, the spread over the
// repeats, and three kinds of plots (throughput vs concurrency, end-of-data latency, RSS over
// time for one run).
// Trusts: a RelayReport written by this version of the suite (checked loosely: a report without
// the fields it needs is refused with a message). Fails: throws on such a report.
import { median } from '../lib/stats.js';
import { ANCHORS, CONNECTION_MODES, SYSTEM_LABELS } from '../relay/gateway.js';
import type { ConnectionMode, SystemName } from '../relay/gateway.js';
import type { RunFigures } from '../relay/measure.js';
import { describeMachine, fmt, kib, modeLabel } from '../relay/report.js';
import type { RelayReport } from '../relay/suite.js';
import { FIGURES, FIGURE_LABELS } from '../relay/summary.js';
import { barChart, lineChart } from './svg.js';

export const SYSTEM_COLORS: Readonly<Record<SystemName, string>> = { moat: '#1f77b4', postfix: '#d62728', haraka: '#2ca02c' };

export interface Section {
  readonly markdown: string;
  /** SVG files by name (written to docs/bench/NAME). */
  readonly svgs: ReadonlyMap<string, string>;
}

/** Throws unless `r` has what this renderer reads. */
export function checkRelayReport(r: unknown, file: string): RelayReport {
  const x = r as Partial<RelayReport> | null;
  const ok =
    x !== null &&
    x.suite === 'relay' &&
    Array.isArray(x.systems) &&
    Array.isArray(x.runs) &&
    Array.isArray(x.summary) &&
    x.runs.every((run) => typeof run.mode === 'string' && typeof run.acceptedPerSec === 'number' && Array.isArray(run.rssSeries));
  if (!ok) throw new Error(`${file} is not a relay report of this bench version (re-run: node dist/bench/run.js relay)`);
  return x as RelayReport;
}

function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** What every section's header needs of a result. */
export interface RunOf {
  readonly startedAt: string;
  /** Whole suite; content results before 2026-12-01 evening lack it. */
  readonly durationSec?: number;
  readonly machine: RelayReport['machine'];
  readonly command?: string;
}

/**
 * The lines every section opens with: when it ran, the result file, the machine (with the load
 * average at the start and `note`, e.g. what shares the cores) and the command that made it.
 */
export function runHeader(r: RunOf, file: string, suite: string, note = ''): string[] {
  const took = r.durationSec === undefined ? '' : `, ${r.durationSec.toFixed(0)} s`;
  return [
    `**Run:** ${utc(r.startedAt)}${took}; result file \`${file}\`.`,
    `**Machine:** ${describeMachine(r)}.${note === '' ? '' : ` ${note}`}`,
    '**Command:**',
    '',
    '```sh',
    r.command ?? `node dist/bench/run.js ${suite} (exact arguments not recorded)`,
    '```',
  ];
}

function slug(mode: ConnectionMode, size: number): string {
  return `${mode}-${kib(size).replace(' ', '')}`;
}

function modeTable(r: RelayReport, mode: ConnectionMode): string[] {
  const systems = r.systems;
  const anchors = systems.includes('moat') ? ANCHORS.filter((a) => systems.includes(a)) : [];
  const head = ['size', 'sessions', 'figure', ...systems.map((s) => SYSTEM_LABELS[s]), ...anchors.map((a) => `Moat/${SYSTEM_LABELS[a]}`)];
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === 2 ? '---' : '---:')).join('|')}|`];
  for (const p of r.summary.filter((s) => s.mode === mode)) {
    for (const f of FIGURES) {
      const cells = [kib(p.size), String(p.sessions), FIGURE_LABELS[f], ...systems.map((s) => fmt(p.bySystem[s]?.[f])), ...anchors.map((a) => fmt(p.ratio[a][f]))];
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  return out;
}

function spreadTable(r: RelayReport): string[] {
  const out = ['| connections | size | sessions | system | accepted msg/s min–max | delivered msg/s min–max | runs |', '|---|---|---:|---|---:|---:|---:|'];
  const range = (xs: readonly number[]): string => (xs.length === 0 ? 'n/a' : `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`);
  for (const p of r.summary) {
    for (const s of r.systems) {
      const runs = r.runs.filter((x) => x.system === s && x.mode === p.mode && x.size === p.size && x.sessions === p.sessions);
      out.push(`| ${modeLabel(p.mode)} | ${kib(p.size)} | ${p.sessions} | ${SYSTEM_LABELS[s]} | ${range(runs.map((x) => x.acceptedPerSec))} | ${range(runs.map((x) => x.deliveredPerSec))} | ${runs.length} |`);
    }
  }
  return out;
}

function throughputSvg(r: RelayReport, mode: ConnectionMode, size: number): string {
  const rows = r.summary.filter((p) => p.mode === mode && p.size === size).sort((a, b) => a.sessions - b.sessions);
  const series = r.systems.flatMap((s) => [
    { name: `${SYSTEM_LABELS[s]} delivered`, color: SYSTEM_COLORS[s], points: rows.map((p) => [p.sessions, p.bySystem[s]?.deliveredPerSec ?? Number.NaN] as const) },
    { name: `${SYSTEM_LABELS[s]} accepted`, color: SYSTEM_COLORS[s], dashed: true, points: rows.map((p) => [p.sessions, p.bySystem[s]?.acceptedPerSec ?? Number.NaN] as const) },
  ]);
  return lineChart({
    title: 'Relay throughput vs concurrency',
    subtitle: `${kib(size)} messages, ${mode === 'new' ? 'a new connection per message' : 'reused connections'}; medians; solid: delivered, dashed: accepted`,
    xLabel: 'concurrent sessions',
    yLabel: 'messages per second',
    xTicks: rows.map((p) => p.sessions),
    series,
  });
}

function latencySvg(r: RelayReport, mode: ConnectionMode): string {
  const rows = r.summary.filter((p) => p.mode === mode);
  const groups = rows.map((p) => `${kib(p.size)} ×${p.sessions}`);
  const series = r.systems.flatMap((s) => [
    { name: `${SYSTEM_LABELS[s]} p50`, color: SYSTEM_COLORS[s], values: rows.map((p) => p.bySystem[s]?.p50Ms ?? Number.NaN) },
    { name: `${SYSTEM_LABELS[s]} p99`, color: `${SYSTEM_COLORS[s]}80`, values: rows.map((p) => p.bySystem[s]?.p99Ms ?? Number.NaN) },
  ]);
  return barChart({
    title: 'End-of-data latency (p50 and p99)',
    subtitle: `${mode === 'new' ? 'a new connection per message' : 'reused connections'}; medians over repeats; groups: size × sessions`,
    yLabel: 'milliseconds',
    groups,
    series,
  });
}

/** The run the RSS plot shows: the last repeat of the heaviest point (largest size, then sessions) in mode "new". */
function rssRuns(r: RelayReport): { runs: RunFigures[]; caption: string } {
  const mode = r.runs.some((x) => x.mode === 'new') ? 'new' : (r.runs[0]?.mode ?? 'new');
  const inMode = r.runs.filter((x) => x.mode === mode);
  const size = Math.max(...inMode.map((x) => x.size));
  const sessions = Math.max(...inMode.filter((x) => x.size === size).map((x) => x.sessions));
  const at = inMode.filter((x) => x.size === size && x.sessions === sessions);
  const repeat = Math.max(...at.map((x) => x.repeat));
  return { runs: at.filter((x) => x.repeat === repeat), caption: `${kib(size)} ×${sessions}, ${modeLabel(mode)}, repeat ${repeat}` };
}

function rssSvg(r: RelayReport): { svg: string; caption: string } {
  const { runs, caption } = rssRuns(r);
  const svg = lineChart({
    title: "RSS of each gateway's process tree during one throughput run",
    subtitle: caption,
    xLabel: 'seconds since smtp-source started',
    yLabel: 'RSS MiB (sum over the tree)',
    series: runs.map((x) => ({ name: SYSTEM_LABELS[x.system], color: SYSTEM_COLORS[x.system], points: x.rssSeries })),
  });
  return { svg, caption };
}

/** Renders the relay section; `file` is the report's path relative to the repository. */
export function relaySection(r: RelayReport, file: string): Section {
  const o = r.options;
  const svgs = new Map<string, string>();
  const sizes = [...new Set(r.summary.map((p) => p.size))].sort((a, b) => a - b);
  const modes = CONNECTION_MODES.filter((m) => r.summary.some((p) => p.mode === m));
  const md: string[] = [
    `## Relay: smtp-source → gateway → smtp-sink (${r.systems.map((s) => SYSTEM_LABELS[s]).join(', ')})`,
    '',
    ...runHeader(r, file, 'relay', 'Load generators, sinks and every gateway share these cores.'),
    '',
    `Options in effect: sizes ${o.sizes.map(kib).join(', ')}; sessions ${o.sessions.join(', ')}; connection modes ${o.modes.map(modeLabel).join(', ')}; ` +
      `${o.messages} messages per throughput run (smtp-source), ${o.latencyMessages} per latency sub-run (the bench's client); ` +
      `${o.repeats} repeat(s) per point and system, interleaved; ${o.warmupMessages} warm-up messages per system. Every figure is a median over the repeats.`,
    ...(o.repeats < 3 ? ['', `**Few repeats (${o.repeats}): treat differences under ~25 % as noise.**`] : []),
    ...r.skipped.map((s) => `\n**${SYSTEM_LABELS[s.system]} skipped:** ${s.reason}`),
    '',
  ];
  for (const mode of modes) md.push(`### ${mode === 'new' ? 'A new connection per message' : 'Reused connections'}`, '', ...modeTable(r, mode), '');
  md.push('### Spread over the repeats', '', ...spreadTable(r), '');
  md.push('### Plots', '');
  for (const mode of modes) {
    for (const size of sizes) {
      const name = `relay-throughput-${slug(mode, size)}.svg`;
      svgs.set(name, throughputSvg(r, mode, size));
      md.push(`![Throughput vs concurrency, ${kib(size)}, ${modeLabel(mode)}](bench/${name})`, '');
    }
  }
  for (const mode of modes) {
    const name = `relay-latency-${mode}.svg`;
    svgs.set(name, latencySvg(r, mode));
    md.push(`![End-of-data latency p50/p99, ${modeLabel(mode)}](bench/${name})`, '');
  }
  const rss = rssSvg(r);
  svgs.set('relay-rss.svg', rss.svg);
  md.push(`![RSS over time, ${rss.caption}](bench/relay-rss.svg)`, '');
  const medianRun = median(r.runs.map((x) => x.elapsedSec));
  md.push(
    `Solid lines: delivered msg/s (counted at the sink); dashed: accepted msg/s (end-of-data 250s counted by smtp-source). ` +
      `Lighter bars: p99, darker: p50. A throughput run took ${fmt(medianRun)} s (median).`,
    '',
  );
  return { markdown: md.join('\n'), svgs };
}
