// Renders a relay report as Markdown: the machine, then one table row per point and figure with
// Moat, Postfix and the ratio Moat/Postfix (medians over repeats).
import type { RelayReport } from './suite.js';
import { FIGURES, FIGURE_LABELS } from './summary.js';

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function kib(size: number): string {
  return size % 1024 === 0 ? `${size / 1024} KB` : `${size} B`;
}

export function renderRelayMarkdown(r: RelayReport): string {
  const m = r.machine;
  const lines = [
    `Relay benchmark, ${r.startedAt} (${r.durationSec.toFixed(0)} s)`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, Postfix ${m.postfix}`,
    `Per run: ${r.options.messages} messages by smtp-source, ${r.options.latencyMessages} by the latency client; ` +
      `${r.options.repeats} repeat(s); medians over repeats.`,
    '',
    '| size | sessions | figure | Moat | Postfix | Moat/Postfix |',
    '|---|---:|---|---:|---:|---:|',
  ];
  for (const p of r.summary) {
    for (const f of FIGURES) {
      lines.push(
        `| ${kib(p.size)} | ${p.sessions} | ${FIGURE_LABELS[f]} | ${fmt(p.bySystem.moat?.[f])} | ${fmt(p.bySystem.postfix?.[f])} | ${fmt(p.ratio[f])} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
