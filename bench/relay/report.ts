// Renders a relay report as Markdown: the machine, then one table row per point and figure with
// each system that ran and the ratio Moat / anchor for each anchor that ran (medians over repeats).
import { ANCHORS, SYSTEM_LABELS } from './gateway.js';
import type { ConnectionMode } from './gateway.js';
import type { RelayReport } from './suite.js';
import { FIGURES, FIGURE_LABELS } from './summary.js';
import type { PointSummary } from './summary.js';

export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function kib(size: number): string {
  return size % 1024 === 0 ? `${size / 1024} KB` : `${size} B`;
}

export function modeLabel(m: ConnectionMode): string {
  return m === 'reuse' ? 'reused' : 'new per message';
}

export function describeMachine(r: Pick<RelayReport, 'machine'>): string {
  const m = r.machine;
  const haraka = m.haraka === undefined ? '' : `, Haraka ${m.haraka}`;
  const fs = m.scratchFs === undefined ? '' : `, scratch dirs (spools) on ${m.scratchFs}`;
  const load = m.loadAtStart === undefined ? '' : `; load average ${m.loadAtStart} at the start`;
  return `${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB RAM, Linux ${m.kernel}${fs}, Node ${m.node}, Postfix ${m.postfix}${haraka}${load}`;
}

/** The Markdown table of a report (header row included). */
export function relayTable(r: RelayReport, rows: readonly PointSummary[] = r.summary): string[] {
  const systems = r.systems;
  const anchors = systems.includes('moat') ? ANCHORS.filter((a) => systems.includes(a)) : [];
  const head = ['connections', 'size', 'sessions', 'figure', ...systems.map((s) => SYSTEM_LABELS[s]), ...anchors.map((a) => `Moat/${SYSTEM_LABELS[a]}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === 1 || i === 3 ? '---' : '---:')).join('|')}|`];
  for (const p of rows) {
    for (const f of FIGURES) {
      const cells = [
        modeLabel(p.mode),
        kib(p.size),
        String(p.sessions),
        FIGURE_LABELS[f],
        ...systems.map((s) => fmt(p.bySystem[s]?.[f])),
        ...anchors.map((a) => fmt(p.ratio[a][f])),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

export function renderRelayMarkdown(r: RelayReport): string {
  const lines = [
    `Relay benchmark, ${r.startedAt} (${r.durationSec.toFixed(0)} s)`,
    '',
    `Machine: ${describeMachine(r)}`,
    `Per run: ${r.options.messages} messages by smtp-source, ${r.options.latencyMessages} by the latency client; ` +
      `${r.options.repeats} repeat(s); medians over repeats.`,
    ...r.skipped.map((s) => `Skipped ${SYSTEM_LABELS[s.system]}: ${s.reason}`),
    '',
    ...relayTable(r),
  ];
  return `${lines.join('\n')}\n`;
}
