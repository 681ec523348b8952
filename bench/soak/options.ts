// Options of the soak benchmark, the full and --quick presets, and their validation. Every figure
// in bench/README.md is defined for these knobs; defaults live only here. Durations are seconds.
export interface SoakBenchOptions {
  /** How long the load runs. */
  readonly durationSec: number;
  /** Messages per second offered (a new connection per message, starts evenly paced). */
  readonly ratePerSec: number;
  /** Concurrent sessions of the load client (enough that a slow reply does not lower the rate). */
  readonly sessions: number;
  /** Body octets of a message. */
  readonly size: number;
  /** The sink is stopped every this many seconds (the first time after one period)... */
  readonly flapEverySec: number;
  /** ...and started again on the same port after this many. */
  readonly downSec: number;
  /** Moat's queue.retrySchedule (one delay, repeated): how soon a deferred message is retried. */
  readonly retrySec: number;
  /** Moat's RSS (its supervisor and workers) is sampled this often. */
  readonly sampleEverySec: number;
  /** After the load, how long every accepted message may take to reach the sink. */
  readonly drainTimeoutSec: number;
  /** Config keys merged over Moat's bench config (MOAT_BENCH_CONFIG). */
  readonly moatConfig?: Readonly<Record<string, unknown>>;
  readonly log?: (line: string) => void;
}

export const SOAK_FULL_PRESET: SoakBenchOptions = {
  durationSec: 3600,
  ratePerSec: 20,
  sessions: 20,
  size: 5 * 1024,
  flapEverySec: 300,
  downSec: 30,
  retrySec: 10,
  sampleEverySec: 5,
  drainTimeoutSec: 600,
};

/** The smoke preset: 30 s at 10 msg/s, the sink down twice for 4 s. */
export const SOAK_QUICK_PRESET: SoakBenchOptions = {
  ...SOAK_FULL_PRESET,
  durationSec: 30,
  ratePerSec: 10,
  sessions: 10,
  flapEverySec: 10,
  downSec: 4,
  retrySec: 2,
  sampleEverySec: 1,
  drainTimeoutSec: 60,
};

/** "90", "90s", "5m", "1h" → seconds; undefined for undefined; throws on anything else. */
export function parseSeconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (m === null) throw new Error(`soak bench: --${name} must be a duration such as 30s, 5m or 1h, got ${v}`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** Throws naming the first bad option. */
export function checkSoakOptions(o: SoakBenchOptions): SoakBenchOptions {
  const range = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`soak bench: ${name} must be in ${min}..${max}, got ${v}`);
  };
  range('durationSec', o.durationSec, 5, 7 * 86_400);
  range('ratePerSec', o.ratePerSec, 0.1, 2000);
  range('sessions', o.sessions, 1, 500);
  if (!Number.isInteger(o.sessions)) throw new Error(`soak bench: sessions must be an integer, got ${o.sessions}`);
  range('size', o.size, 100, 10 * 1024 * 1024);
  range('flapEverySec', o.flapEverySec, 1, 86_400);
  range('downSec', o.downSec, 0, o.flapEverySec);
  range('retrySec', o.retrySec, 1, 3600);
  range('sampleEverySec', o.sampleEverySec, 0.1, 3600);
  range('drainTimeoutSec', o.drainTimeoutSec, 1, 86_400);
  return o;
}
