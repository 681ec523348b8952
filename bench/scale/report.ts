// Markdown of a scale benchmark report (bench/scale/suite.ts): per setup the median run's accepted
// and delivered msg/s per node and in total, CPU per message of the nodes and of the shared stores,
// and the overhead of the shared stores against the embedded node.
import type { ScaleReport, SetupResult } from './suite.js';

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');

/** "-12%": how much lower `x` is than `base` (positive: x is slower). */
function overhead(x: number, base: number): string {
  if (!(base > 0)) return '–';
  const p = (1 - x / base) * 100;
  return `${p >= 0 ? '' : '+'}${Math.abs(p).toFixed(0)}%`;
}

function perNode(r: SetupResult): number {
  return r.median.acceptedPerSec / r.nodes;
}

export function renderScaleMarkdown(report: ScaleReport): string {
  const o = report.options;
  const m = report.machine;
  const lines = [
    `### Scale-out: one node vs two (${m.nproc} cores, ${m.cpuModel})`,
    '',
    `${o.messages} messages per run over ${o.sessions} sessions (split evenly between the nodes), ${o.workers} worker(s) per node, ` +
      `${o.repeats} run(s) per setup (median shown), greylisting off, per-client rate limit and Bayes on, message log on. ` +
      'Every process (load client, nodes, Redis, PostgreSQL) shares the same cores.',
    '',
    '| setup | node | accepted msg/s | delivered msg/s | node CPU ms/msg |',
    '|---|---|---:|---:|---:|',
  ];
  for (const r of report.results) {
    for (const n of r.median.nodes) lines.push(`| ${r.label} | ${n.node} | ${f0(n.acceptedPerSec)} | ${f0(n.deliveredPerSec)} | ${f2(n.cpuMsPerMessage)} |`);
    if (r.nodes > 1) lines.push(`| ${r.label} | **total** | **${f0(r.median.acceptedPerSec)}** | **${f0(r.median.deliveredPerSec)}** | |`);
  }
  const embedded = report.results.find((r) => r.setup === 'embedded');
  lines.push('', '| setup | total accepted msg/s | per node | vs embedded (per node) | Redis CPU ms/msg | PostgreSQL CPU ms/msg |', '|---|---:|---:|---:|---:|---:|');
  for (const r of report.results) {
    lines.push(
      `| ${r.label} | ${f0(r.median.acceptedPerSec)} | ${f0(perNode(r))} | ${embedded && r !== embedded ? overhead(perNode(r), perNode(embedded)) : '–'} | ${r.setup === 'embedded' ? '–' : f2(r.median.redisCpuMsPerMessage)} | ${r.setup === 'embedded' ? '–' : f2(r.median.postgresCpuMsPerMessage)} |`,
    );
  }
  lines.push('', `Started ${report.startedAt}; command: \`${report.command ?? 'node dist/bench/run.js scale'}\`.`, '');
  return `${lines.join('\n')}\n`;
}
