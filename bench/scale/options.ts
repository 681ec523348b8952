// Options of the scale-out benchmark (bench/scale/suite.ts), the full and --quick presets, their
// command line (the shared parser of bench/lib/options.ts) and their validation. Every figure in bench/README.md ("scale") is defined for these knobs; defaults
// live only here.
import { int, list, parseFlags, stderrLog } from '../lib/options.js';

export type ScaleSetup = 'embedded' | 'shared-1' | 'shared-2';

export const SCALE_SETUPS: readonly ScaleSetup[] = ['embedded', 'shared-1', 'shared-2'];

export const SCALE_SETUP_LABELS: Readonly<Record<ScaleSetup, string>> = {
  embedded: '1 node, embedded SQLite',
  'shared-1': '1 node, Redis + PostgreSQL',
  'shared-2': '2 nodes, Redis + PostgreSQL',
};

export interface ScaleBenchOptions {
  /** Messages per run, over all nodes (split evenly between the nodes of a setup). */
  readonly messages: number;
  /** Concurrent smtp-source sessions, over all nodes (split evenly). */
  readonly sessions: number;
  /** Runs per setup; the report gives the median run. */
  readonly repeats: number;
  /** Worker processes per node (Moat's `workers`). */
  readonly workers: number;
  /** Messages sent to each node before the measured runs (not counted). */
  readonly warmup: number;
  readonly setups: readonly ScaleSetup[];
  /** Longest wait for one run's delivery, in ms. */
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
}

export const SCALE_FULL_PRESET: ScaleBenchOptions = {
  messages: 4000,
  sessions: 20,
  repeats: 3,
  workers: 1,
  warmup: 200,
  setups: SCALE_SETUPS,
  timeoutMs: 300_000,
};

export const SCALE_QUICK_PRESET: ScaleBenchOptions = {
  messages: 400,
  sessions: 10,
  repeats: 1,
  workers: 1,
  warmup: 40,
  setups: SCALE_SETUPS,
  timeoutMs: 120_000,
};

export function validateScaleOptions(o: ScaleBenchOptions): void {
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`scale: --${name} must be a whole number >= ${min}, got ${v}`);
  };
  whole('messages', o.messages, 2);
  whole('sessions', o.sessions, 2);
  whole('repeats', o.repeats, 1);
  whole('workers', o.workers, 1);
  whole('warmup', o.warmup, 0);
  for (const s of o.setups) if (!SCALE_SETUPS.includes(s)) throw new Error(`scale: unknown setup ${s} (one of ${SCALE_SETUPS.join(', ')})`);
  if (o.setups.length === 0) throw new Error('scale: no setup to run');
}

export function scaleOptionsFromArgs(argv: readonly string[]): { options: ScaleBenchOptions; out: string | undefined } {
  const values = parseFlags(argv, { messages: 'string', sessions: 'string', repeats: 'string', workers: 'string', warmup: 'string', setups: 'string' });
  const base = values.quick ? SCALE_QUICK_PRESET : SCALE_FULL_PRESET;
  const options: ScaleBenchOptions = {
    ...base,
    messages: int(values.messages) ?? base.messages,
    sessions: int(values.sessions) ?? base.sessions,
    repeats: int(values.repeats) ?? base.repeats,
    workers: int(values.workers) ?? base.workers,
    warmup: int(values.warmup) ?? base.warmup,
    setups: (list(values.setups) as ScaleSetup[] | undefined) ?? base.setups,
    log: stderrLog,
  };
  return { options, out: values.out };
}
