// Medians over repeats per point (mix × sessions) and system, the ratio Moat / anchor of each
// figure, and the verdict counts summed over the repeats (failed apart from unsent, as the soak).
// Trusts: nothing. Fails: never; a missing system gives NaN figures.
import { median, ratio } from '../lib/stats.js';
import type { FilterPoint, FilterRun } from './measure.js';
import { FILTER_ANCHORS } from './options.js';
import type { FilterSystem } from './options.js';

export const FILTER_FIGURES = ['acceptedPerSec', 'deliveredPerSec', 'p50Ms', 'p99Ms', 'cpuMsPerMessage', 'peakRssMiB', 'peakPssMiB'] as const;
export type FilterFigure = (typeof FILTER_FIGURES)[number];

export const FILTER_FIGURE_LABELS: Readonly<Record<FilterFigure, string>> = {
  acceptedPerSec: 'accepted msg/s (higher is better)',
  deliveredPerSec: 'delivered msg/s (higher is better)',
  p50Ms: 'end-of-data verdict p50 ms',
  p99Ms: 'end-of-data verdict p99 ms',
  cpuMsPerMessage: 'CPU ms/msg (all counted trees)',
  peakRssMiB: 'peak RSS MiB (sum over trees)',
  peakPssMiB: 'peak PSS MiB (sum over trees)',
};

export type FilterFigures = Readonly<Record<FilterFigure, number>>;

export interface Verdicts {
  readonly accepted: number;
  readonly rejected: number;
  /** 4xx, connection errors, reply timeouts. */
  readonly failed: number;
  /** Left without an outcome by the run's time bound; cutOff of them in flight. */
  readonly unsent: number;
  readonly cutOff: number;
  readonly runs: number;
}

export interface FilterPointSummary extends FilterPoint {
  readonly bySystem: Readonly<Partial<Record<FilterSystem, FilterFigures>>>;
  readonly verdicts: Readonly<Partial<Record<FilterSystem, Verdicts>>>;
  /** moat / anchor per figure (NaN unless both ran). */
  readonly ratio: Readonly<Record<(typeof FILTER_ANCHORS)[number], FilterFigures>>;
}

function figuresOf(runs: readonly FilterRun[]): FilterFigures {
  const m = (f: (r: FilterRun) => number): number => median(runs.map(f).filter((v) => Number.isFinite(v)));
  return {
    acceptedPerSec: m((r) => r.acceptedPerSec),
    deliveredPerSec: m((r) => r.deliveredPerSec),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    cpuMsPerMessage: m((r) => r.cpuMsPerMessage),
    peakRssMiB: m((r) => r.peakRssBytes / 2 ** 20),
    peakPssMiB: m((r) => r.peakPssBytes / 2 ** 20),
  };
}

export function summarizeFilter(runs: readonly FilterRun[], points: readonly FilterPoint[], systems: readonly FilterSystem[]): FilterPointSummary[] {
  return points.map((p) => {
    const at = runs.filter((r) => r.mix === p.mix && r.sessions === p.sessions);
    const bySystem: Partial<Record<FilterSystem, FilterFigures>> = {};
    const verdicts: Partial<Record<FilterSystem, Verdicts>> = {};
    for (const s of systems) {
      const mine = at.filter((r) => r.system === s);
      bySystem[s] = figuresOf(mine);
      verdicts[s] = mine.reduce(
        (v, r) => ({ accepted: v.accepted + r.accepted, rejected: v.rejected + r.rejected, failed: v.failed + r.failed, unsent: v.unsent + r.unsent, cutOff: v.cutOff + r.cutOff, runs: v.runs + 1 }),
        { accepted: 0, rejected: 0, failed: 0, unsent: 0, cutOff: 0, runs: 0 },
      );
    }
    const moat = bySystem.moat;
    const ratios = (a: (typeof FILTER_ANCHORS)[number]): FilterFigures =>
      Object.fromEntries(FILTER_FIGURES.map((f) => [f, ratio(moat?.[f] ?? Number.NaN, bySystem[a]?.[f] ?? Number.NaN)])) as Record<FilterFigure, number>;
    return { ...p, bySystem, verdicts, ratio: Object.fromEntries(FILTER_ANCHORS.map((a) => [a, ratios(a)])) as Record<(typeof FILTER_ANCHORS)[number], FilterFigures> };
  });
}
