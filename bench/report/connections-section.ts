// The connections section of docs/benchmarks.md (and the suite's stdout table): per system the
// medians over repeats of memory per idle session, how many sessions opened and how fast, the
// legitimate session's time to its 250 while the idle sessions and the slow swarm were open, and
// what became of the slow clients; ratios Moat / anchor; two bar charts.
// Trusts: a ConnectionsReport from this bench version (checked loosely). Fails: throws on another.
import type { ConnectionsReport, ConnectionsRun } from '../connections/suite.js';
import { median, ratio } from '../lib/stats.js';
import { ANCHORS, SYSTEM_LABELS } from '../relay/gateway.js';
import type { SystemName } from '../relay/gateway.js';
import { describeMachine, fmt } from '../relay/report.js';
import { runHeader, SYSTEM_COLORS } from './relay-section.js';
import type { Section } from './relay-section.js';
import { barChart } from './svg.js';

const ROWS = [
  ['pssPerSessionKiB', 'PSS per idle session, KiB (lower is better)'],
  ['rssPerSessionKiB', 'RSS per idle session, KiB (sum over tree)'],
  ['opened', 'idle sessions opened'],
  ['openSec', 'seconds to open them'],
  ['processes', 'processes with the sessions open'],
  ['legitP50Ms', 'legitimate session, connect to 250, p50 ms'],
  ['legitMaxMs', 'legitimate session, connect to 250, max ms'],
  ['legitOkShare', 'legitimate sessions that got their 250 (share)'],
  ['slowCutOff', 'slow clients cut off by the gateway within the trickle'],
  ['idleClosed', 'idle sessions closed by the gateway meanwhile'],
] as const;

type RowName = (typeof ROWS)[number][0];

const COUNTS: ReadonlySet<RowName> = new Set(['opened', 'processes', 'slowCutOff', 'idleClosed']);

export function checkConnectionsReport(r: unknown, file: string): ConnectionsReport {
  const x = r as Partial<ConnectionsReport> | null;
  const ok = x !== null && x.suite === 'connections' && Array.isArray(x.systems) && Array.isArray(x.runs) && x.runs.every((run) => typeof run.pssPerSessionKiB === 'number');
  if (!ok) throw new Error(`${file} is not a connections report of this bench version (re-run: node dist/bench/run.js connections)`);
  return x as ConnectionsReport;
}

function figure(runs: readonly ConnectionsRun[], f: RowName, legitAsked: number): number {
  const m = (g: (r: ConnectionsRun) => number): number => median(runs.map(g).filter((v) => Number.isFinite(v)));
  switch (f) {
    case 'processes':
      return m((r) => r.idle.processes);
    case 'legitOkShare':
      return runs.length === 0 ? Number.NaN : runs.reduce((s, r) => s + r.legitOk, 0) / (legitAsked * runs.length);
    case 'idleClosed':
      return m((r) => r.idleClosedByServer);
    default:
      return m((r) => r[f]);
  }
}

export function connectionsFigures(r: ConnectionsReport): Map<SystemName, Record<RowName, number>> {
  const out = new Map<SystemName, Record<RowName, number>>();
  for (const s of r.systems) {
    const runs = r.runs.filter((x) => x.system === s);
    out.set(s, Object.fromEntries(ROWS.map(([f]) => [f, figure(runs, f, r.options.legitSessions)])) as Record<RowName, number>);
  }
  return out;
}

function table(r: ConnectionsReport): string[] {
  const figs = connectionsFigures(r);
  const anchors = r.systems.includes('moat') ? ANCHORS.filter((a) => r.systems.includes(a)) : [];
  const head = ['figure', ...r.systems.map((s) => SYSTEM_LABELS[s]), ...anchors.map((a) => `Moat/${SYSTEM_LABELS[a]}`)];
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  for (const [f, label] of ROWS) {
    const ratios = anchors.map((a) => (['pssPerSessionKiB', 'rssPerSessionKiB', 'legitP50Ms', 'legitMaxMs'].includes(f) ? fmt(ratio(figs.get('moat')?.[f] ?? Number.NaN, figs.get(a)?.[f] ?? Number.NaN)) : ''));
    const show = (v: number | undefined): string => (COUNTS.has(f) && v !== undefined && Number.isFinite(v) ? String(Math.round(v)) : fmt(v));
    lines.push(`| ${[label, ...r.systems.map((s) => show(figs.get(s)?.[f])), ...ratios].join(' | ')} |`);
  }
  return lines;
}

function load(r: ConnectionsReport): string {
  const o = r.options;
  return (
    `${o.idleSessions} idle sessions per gateway (opened ${o.openInFlight} at a time, each after its EHLO 250), then ${o.slowClients} slow clients ` +
    `trickling one byte per second for ${o.slowSeconds} s while ${o.legitSessions} legitimate sessions run one after another; ` +
    `${o.repeats} repeat(s), a fresh gateway each time, medians over repeats. RLIMIT_NOFILE ${r.fdLimit.soft}${r.fdLimit.raised ? ' (raised by the bench; the gateways inherit it)' : ''}.`
  );
}

/** The suite's stdout summary. */
export function renderConnectionsMarkdown(r: ConnectionsReport): string {
  return `${[`Connections benchmark, ${r.startedAt} (${r.durationSec.toFixed(0)} s)`, '', `Machine: ${describeMachine(r)}`, load(r), ...r.skipped.map((s) => `Skipped ${SYSTEM_LABELS[s.system]}: ${s.reason}`), '', ...table(r)].join('\n')}\n`;
}

/** The docs section; `file` is the result's path relative to the repository. */
export function connectionsSection(r: ConnectionsReport, file: string): Section {
  const figs = connectionsFigures(r);
  const svgs = new Map<string, string>();
  svgs.set(
    'connections-memory.svg',
    barChart({
      title: 'Memory per idle SMTP session',
      subtitle: `PSS: (tree with ${r.options.idleSessions} sessions open − baseline) ÷ sessions; medians over repeats`,
      yLabel: 'KiB of PSS per session',
      groups: ['PSS per idle session'],
      series: r.systems.map((s) => ({ name: SYSTEM_LABELS[s], color: SYSTEM_COLORS[s], values: [figs.get(s)?.pssPerSessionKiB ?? Number.NaN] })),
    }),
  );
  svgs.set(
    'connections-legit.svg',
    barChart({
      title: 'A legitimate session among idle and slow ones',
      subtitle: `connect to end-of-data 250, with ${r.options.idleSessions} idle sessions and ${r.options.slowClients} slow clients open; medians`,
      yLabel: 'milliseconds',
      groups: ['p50', 'max'],
      series: r.systems.map((s) => ({ name: SYSTEM_LABELS[s], color: SYSTEM_COLORS[s], values: [figs.get(s)?.legitP50Ms ?? Number.NaN, figs.get(s)?.legitMaxMs ?? Number.NaN] })),
    }),
  );
  const md = [
    `## Connections: idle sessions, slow clients and one legitimate client (${r.systems.map((s) => SYSTEM_LABELS[s]).join(', ')})`,
    '',
    ...runHeader(r, file, 'connections'),
    '',
    load(r),
    ...(r.options.repeats < 3 ? ['', `**Few repeats (${r.options.repeats}): treat differences under ~25 % as noise.**`] : []),
    ...r.skipped.map((s) => `\n**${SYSTEM_LABELS[s.system]} skipped:** ${s.reason}`),
    '',
    ...table(r),
    '',
    '![Memory per idle session](bench/connections-memory.svg)',
    '',
    '![Legitimate session latency](bench/connections-legit.svg)',
    '',
  ];
  return { markdown: md.join('\n'), svgs };
}
