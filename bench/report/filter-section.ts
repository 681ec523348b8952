// The filter section of docs/benchmarks.md (and the suite's stdout table): what each setup ran,
// the message mixes, one table per mix with each system's medians and Moat's ratio to each
// anchor, the verdicts (accepted, refused, failed, and apart from failed the messages the run's
// time bound left unsent) summed over the repeats, and bar charts of delivered msg/s, verdict
// latency and CPU per message.
// Trusts: a FilterReport from this bench version (checked loosely). A result from before unsent
// was counted apart (its `failed` included the unsent) is read when it has no failure at all,
// since then both were 0. Fails: throws on another format, or on such an older result with failures.
import type { FilterReport } from '../filter/suite.js';
import { FILTER_ANCHORS, FILTER_LABELS } from '../filter/options.js';
import type { FilterSystem } from '../filter/options.js';
import { FILTER_FIGURES, FILTER_FIGURE_LABELS } from '../filter/summary.js';
import type { FilterFigure, FilterPointSummary, Verdicts } from '../filter/summary.js';
import { describeMachine, fmt, kib } from '../relay/report.js';
import { runHeader } from './relay-section.js';
import type { Section } from './relay-section.js';
import { barChart } from './svg.js';

export const FILTER_COLORS: Readonly<Record<FilterSystem, string>> = { moat: '#1f77b4', 'postfix-sa': '#d62728', 'postfix-rspamd': '#ff7f0e' };

/** A run or verdict count of an older result: `failed` included the unsent, and there was no `unsent`. */
type Legacy<T> = Omit<T, 'unsent' | 'cutOff'> & Partial<Pick<Verdicts, 'unsent' | 'cutOff'>>;

/** Splits an older count: exact when it failed nothing (then nothing was unsent either); undefined otherwise. */
function split<T extends { readonly failed: number }>(x: Legacy<T>): (Legacy<T> & { unsent: number; cutOff: number }) | undefined {
  if (typeof x.unsent === 'number' && typeof x.cutOff === 'number') return { ...x, unsent: x.unsent, cutOff: x.cutOff };
  return x.failed === 0 ? { ...x, unsent: 0, cutOff: 0 } : undefined;
}

export function checkFilterReport(r: unknown, file: string): FilterReport {
  const x = r as Partial<FilterReport> | null;
  const ok = x !== null && x.suite === 'filter' && Array.isArray(x.systems) && Array.isArray(x.runs) && Array.isArray(x.summary) && Array.isArray(x.mixes) && x.runs.every((run) => typeof run.p50Ms === 'number' && typeof run.mix === 'string' && typeof run.failed === 'number');
  if (!ok) throw new Error(`${file} is not a filter report of this bench version (re-run: node dist/bench/run.js filter)`);
  const refuse = (): never => {
    throw new Error(`${file} is a filter report from before unsent was counted apart from failed, with failures it cannot split (re-run: node dist/bench/run.js filter)`);
  };
  const runs = x.runs.map((run) => split<FilterReport['runs'][number]>(run) ?? refuse());
  const summary = x.summary.map((p) => ({
    ...p,
    verdicts: Object.fromEntries(Object.entries(p.verdicts as Readonly<Record<string, Legacy<Verdicts> | undefined>>).map(([s, v]) => [s, v === undefined ? v : (split<Verdicts>(v) ?? refuse())])),
  }));
  return { ...x, runs, summary } as FilterReport;
}

function anchorsOf(r: FilterReport): (typeof FILTER_ANCHORS)[number][] {
  return r.systems.includes('moat') ? FILTER_ANCHORS.filter((a) => r.systems.includes(a)) : [];
}

function figureTable(r: FilterReport, rows: readonly FilterPointSummary[]): string[] {
  const anchors = anchorsOf(r);
  const head = ['mix', 'sessions', 'figure', ...r.systems.map((s) => FILTER_LABELS[s]), ...anchors.map((a) => `Moat/${FILTER_LABELS[a]}`)];
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === 2 ? '---' : '---:')).join('|')}|`];
  for (const p of rows) {
    for (const f of FILTER_FIGURES) {
      out.push(`| ${[p.mix, String(p.sessions), FILTER_FIGURE_LABELS[f], ...r.systems.map((s) => fmt(p.bySystem[s]?.[f])), ...anchors.map((a) => fmt(p.ratio[a][f]))].join(' | ')} |`);
    }
  }
  return out;
}

function verdictTable(r: FilterReport): string[] {
  const out = [
    '| mix | sessions | system | accepted (250) | refused (5xx) | failed (4xx, connection errors, reply timeouts) | unsent: the run\'s time bound ran out first / of them cut off in flight | runs |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const p of r.summary) {
    for (const s of r.systems) {
      const v = p.verdicts[s];
      if (v !== undefined) out.push(`| ${p.mix} | ${p.sessions} | ${FILTER_LABELS[s]} | ${v.accepted} | ${v.rejected} | ${v.failed} | ${v.unsent} / ${v.cutOff} | ${v.runs} |`);
    }
  }
  return out;
}

function mixLines(r: FilterReport): string[] {
  return r.mixes.map((m) => {
    const groups = Object.entries(m.groups)
      .map(([g, n]) => `${g} ${n}`)
      .join(', ');
    const what = m.name === 'synthetic' ? `${kib(r.options.syntheticSize)} text bodies from alice@sender.test, DKIM-signed (SPF, DKIM and DMARC pass)` : `SpamAssassin public corpus sample (${groups})`;
    const used = Math.min(m.messages, r.options.messages);
    return (
      `* **${m.name}**: ${m.messages} distinct messages, mean ${Math.round(m.meanOctets / 1024)} KiB: ${what}; ${m.viruses} of them carry EICAR (base64 attachment)` +
      (used < m.messages ? `; each run sends the first ${used} (a fixed shuffled order).` : '.')
    );
  });
}

function setupLines(r: FilterReport): string[] {
  return r.systems.map((s) => {
    const d = r.setups[s];
    return `* **${FILTER_LABELS[s]}**: ${d?.notes.join('; ') ?? ''}. Counted: ${d?.components.join(', ') ?? ''}.`;
  });
}

function intro(r: FilterReport): string[] {
  const o = r.options;
  return [
    `Load: the bench's client, a new connection per message, ${o.messages} messages per run cycling through the mix; ${o.repeats} repeat(s) per point and system, interleaved; ` +
      `${o.warmupMessages} warm-up messages per system. Figures are medians over the repeats.`,
    '',
    ...mixLines(r),
    '',
    ...setupLines(r),
    '',
    `Moat's optional content checks: ${r.moatChecks.enabled.length > 0 ? `enabled ${r.moatChecks.enabled.join(', ')}` : 'none found'}${r.moatChecks.absent.length > 0 ? `; not in this version: ${r.moatChecks.absent.join(', ')}` : ''}` +
      `${(r.moatChecks.refused ?? []).map((c) => `; ${c.name} present but not enabled (its config needs more than enabled: true: ${c.reason})`).join('')}.`,
    ...r.skipped.map((s) => `\n**${FILTER_LABELS[s.system]} skipped:** ${s.reason}`),
  ];
}

/** The suite's stdout summary. */
export function renderFilterMarkdown(r: FilterReport): string {
  return `${[`Filter benchmark, ${r.startedAt} (${r.durationSec.toFixed(0)} s)`, '', `Machine: ${describeMachine(r)}`, ...intro(r), '', ...figureTable(r, r.summary), '', ...verdictTable(r)].join('\n')}\n`;
}

function chart(r: FilterReport, f: FilterFigure, title: string, yLabel: string): string {
  return barChart({
    title,
    subtitle: 'medians over repeats; groups: mix × sessions',
    yLabel,
    groups: r.summary.map((p) => `${p.mix} ×${p.sessions}`),
    series: r.systems.map((s) => ({ name: FILTER_LABELS[s], color: FILTER_COLORS[s], values: r.summary.map((p) => p.bySystem[s]?.[f] ?? Number.NaN) })),
  });
}

/** The docs section; `file` is the result's path relative to the repository. */
export function filterSection(r: FilterReport, file: string): Section {
  const svgs = new Map<string, string>([
    ['filter-delivered.svg', chart(r, 'deliveredPerSec', 'Delivered msg/s with full filtering', 'messages per second')],
    ['filter-latency.svg', chart(r, 'p99Ms', 'End-of-data verdict latency, p99', 'milliseconds')],
    ['filter-cpu.svg', chart(r, 'cpuMsPerMessage', 'CPU per message (every counted process tree)', 'CPU ms per message')],
  ]);
  const md = [
    `## Filter: load → gateway with full filtering → smtp-sink (${r.systems.map((s) => FILTER_LABELS[s]).join(', ')})`,
    '',
    ...runHeader(r, file, 'filter', 'The load client, the sinks, the DNS stub, clamd and every system share these cores.'),
    '',
    ...intro(r),
    ...(r.options.repeats < 3 ? ['', `**Few repeats (${r.options.repeats}): treat differences under ~25 % as noise.**`] : []),
    '',
    ...figureTable(r, r.summary),
    '',
    '### Verdicts (summed over the repeats)',
    '',
    ...verdictTable(r),
    '',
    '![Delivered msg/s](bench/filter-delivered.svg)',
    '',
    '![Verdict latency p99](bench/filter-latency.svg)',
    '',
    '![CPU per message](bench/filter-cpu.svg)',
    '',
  ];
  return { markdown: md.join('\n'), svgs };
}
