// The soak section of docs/benchmarks.md (and the suite's stdout summary): the load and the flaps,
// what the load client got (accepted, failed, and apart from those the messages its time bound
// left unsent), whether every accepted message was delivered (lost, duplicates, drain time), the
// latency of the end-of-data reply, and Moat's RSS early and late in the run, with a plot of RSS
// over time.
// Trusts: a SoakReport from this bench version (checked loosely). Fails: throws on another.
import type { SoakReport } from '../soak/suite.js';
import { describeMachine, fmt, kib } from '../relay/report.js';
import { runHeader } from './relay-section.js';
import type { Section } from './relay-section.js';
import { lineChart } from './svg.js';

export function checkSoakReport(r: unknown, file: string): SoakReport {
  const x = r as Partial<SoakReport> | null;
  const ok = x !== null && x.suite === 'soak' && typeof x.lost === 'number' && typeof x.unsent === 'number' && Array.isArray(x.flaps) && Array.isArray(x.rss?.series);
  if (!ok) throw new Error(`${file} is not a soak report of this bench version (re-run: node dist/bench/run.js soak)`);
  return x as SoakReport;
}

function secs(s: number): string {
  return s >= 3600 && s % 3600 === 0 ? `${s / 3600} h` : s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function load(r: SoakReport): string {
  const o = r.options;
  return (
    `Load: ${r.offered} messages of ${kib(o.size)} at ${o.ratePerSec} msg/s for ${secs(o.durationSec)} (${o.sessions} concurrent sessions at most, a new connection per message); ` +
    `the sink stopped every ${secs(o.flapEverySec)} for ${secs(o.downSec)} (${r.flaps.length} times); Moat's queue.retrySchedule [${o.retrySec}s]; RSS sampled every ${secs(o.sampleEverySec)}.`
  );
}

/** The lowest RSS sample between `from` and `to` seconds: the floor a garbage collection comes back to. */
function floorIn(r: SoakReport, from: number, to: number): number {
  const xs = r.rss.series.filter(([t]) => t >= from && t <= to).map(([, v]) => v);
  return xs.length === 0 ? Number.NaN : Math.min(...xs);
}

function table(r: SoakReport): string[] {
  const growth = r.rss.lateMiB - r.rss.earlyMiB;
  const d = r.options.durationSec;
  return [
    '| figure | value |',
    '|---|---:|',
    `| offered / accepted (250) | ${r.offered} / ${r.accepted} |`,
    `| failed (an SMTP error reply, a connection error or a reply timeout) | ${r.failed} |`,
    `| unsent: the load client's time bound (duration + 300 s) ran out first / of them cut off in flight | ${r.unsent} / ${r.cutOff} |`,
    `| **lost** (accepted, in no sink dump after the drain) | **${r.lost}** |`,
    `| delivered (distinct accepted messages at the sink) | ${r.delivered} |`,
    `| duplicates (extra copies) / delivered without a 250 to the client | ${r.duplicates} / ${r.deliveredUnconfirmed} |`,
    `| drain after the load, s | ${fmt(r.drainSec)} |`,
    `| accepted msg/s (over the load) | ${fmt(r.achievedPerSec)} |`,
    `| end-of-data p50 / p99 ms | ${fmt(r.p50Ms)} / ${fmt(r.p99Ms)} |`,
    `| Moat RSS, median of the 2nd fifth of the run, MiB | ${fmt(r.rss.earlyMiB)} |`,
    `| Moat RSS, median of the last fifth, MiB | ${fmt(r.rss.lateMiB)} |`,
    `| growth late − early, MiB | ${growth >= 0 ? '+' : ''}${fmt(growth)} |`,
    `| RSS floor (lowest sample) in the 2nd fifth / the last fifth, MiB | ${fmt(floorIn(r, d / 5, (2 * d) / 5))} / ${fmt(floorIn(r, (4 * d) / 5, d))} |`,
    `| peak RSS / peak PSS MiB | ${fmt(r.rss.peakMiB)} / ${fmt(r.rss.peakPssMiB)} |`,
  ];
}

/** The suite's stdout summary. */
export function renderSoakMarkdown(r: SoakReport): string {
  return `${[`Soak benchmark, ${r.startedAt} (${r.durationSec.toFixed(0)} s)`, '', `Machine: ${describeMachine(r)}`, load(r), '', ...table(r)].join('\n')}\n`;
}

/** The docs section; `file` is the result's path relative to the repository. */
export function soakSection(r: SoakReport, file: string): Section {
  const downs = r.flaps.map((f) => `${f.downAt.toFixed(0)}–${f.upAt.toFixed(0)}`).join(', ');
  const svg = lineChart({
    title: 'Moat RSS over the soak (supervisor + workers)',
    subtitle: `sink down at (s): ${downs.length > 120 ? `${r.flaps.length} windows of ${secs(r.options.downSec)}` : downs || 'never'}`,
    xLabel: 'seconds since the load started',
    yLabel: 'RSS MiB',
    series: [{ name: 'Moat RSS', color: '#1f77b4', points: r.rss.series }],
  });
  const md = [
    `## Soak: a steady rate into Moat with the downstream flapping`,
    '',
    ...runHeader(r, file, 'soak'),
    '',
    load(r),
    ...(r.options.durationSec < 1800 ? ['', `**A short run (${secs(r.options.durationSec)}): growth over a few minutes cannot tell V8 settling from a leak; read the hour-long default.**`] : []),
    '',
    ...table(r),
    '',
    '![Moat RSS over time](bench/soak-rss.svg)',
    '',
  ];
  return { markdown: md.join('\n'), svgs: new Map([['soak-rss.svg', svg]]) };
}
