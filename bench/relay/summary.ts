// Medians over repeats per point and system, and the ratio Moat / anchor of each figure for each
// anchor (Postfix, Haraka).
// Trusts: nothing. Fails: never; a missing system gives NaN figures.
import { median, ratio } from '../lib/stats.js';
import { ANCHORS } from './gateway.js';
import type { Anchor, SystemName } from './gateway.js';
import type { Point, RunFigures } from './measure.js';

export const FIGURES = ['acceptedPerSec', 'deliveredPerSec', 'p50Ms', 'p99Ms', 'cpuMsPerMessage', 'peakRssMiB', 'peakPssMiB'] as const;
export type FigureName = (typeof FIGURES)[number];

export const FIGURE_LABELS: Readonly<Record<FigureName, string>> = {
  acceptedPerSec: 'accepted msg/s (higher is better)',
  deliveredPerSec: 'delivered msg/s (higher is better)',
  p50Ms: 'end-of-data p50 ms',
  p99Ms: 'end-of-data p99 ms',
  cpuMsPerMessage: 'CPU ms/msg',
  peakRssMiB: 'peak RSS MiB (sum over tree)',
  peakPssMiB: 'peak PSS MiB (sum over tree)',
};

export type Figures = Readonly<Record<FigureName, number>>;

export interface PointSummary extends Point {
  readonly repeats: number;
  readonly bySystem: Readonly<Partial<Record<SystemName, Figures>>>;
  /** moat / anchor per figure, for each anchor (NaN unless both ran). */
  readonly ratio: Readonly<Record<Anchor, Figures>>;
}

function figuresOf(runs: readonly RunFigures[]): Figures {
  const m = (f: (r: RunFigures) => number | undefined): number =>
    median(runs.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v)));
  return {
    acceptedPerSec: m((r) => r.acceptedPerSec),
    deliveredPerSec: m((r) => r.deliveredPerSec),
    p50Ms: m((r) => r.latency?.p50Ms),
    p99Ms: m((r) => r.latency?.p99Ms),
    cpuMsPerMessage: m((r) => r.cpuMsPerMessage),
    peakRssMiB: m((r) => r.peakRssBytes / 2 ** 20),
    peakPssMiB: m((r) => r.peakPssBytes / 2 ** 20),
  };
}

export function summarize(runs: readonly RunFigures[], points: readonly Point[], systems: readonly SystemName[]): PointSummary[] {
  return points.map((p) => {
    const at = runs.filter((r) => r.size === p.size && r.sessions === p.sessions && r.mode === p.mode);
    const bySystem: Partial<Record<SystemName, Figures>> = {};
    for (const s of systems) bySystem[s] = figuresOf(at.filter((r) => r.system === s));
    const moat = bySystem.moat;
    const ratios = (anchor: Anchor): Figures =>
      Object.fromEntries(FIGURES.map((f) => [f, ratio(moat?.[f] ?? Number.NaN, bySystem[anchor]?.[f] ?? Number.NaN)])) as Record<FigureName, number>;
    return {
      ...p,
      repeats: Math.max(0, ...systems.map((s) => at.filter((r) => r.system === s).length)),
      bySystem,
      ratio: Object.fromEntries(ANCHORS.map((a) => [a, ratios(a)])) as Record<Anchor, Figures>,
    };
  });
}
