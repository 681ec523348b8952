// Options of the soak benchmark, the full and --quick presets, their command line (the shared
// parser of bench/lib/options.ts) and their validation. Every figure in bench/README.md is
// defined for these knobs; defaults live only here. Durations are seconds.
import { checks, int, moatConfigFromEnv, parseFlags, seconds, stderrLog } from '../lib/options.js';

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

/** Throws naming the first bad option. */
export function checkSoakOptions(o: SoakBenchOptions): SoakBenchOptions {
  const c = checks('soak');
  c.range('durationSec', o.durationSec, 5, 7 * 86_400);
  c.range('ratePerSec', o.ratePerSec, 0.1, 2000);
  c.range('sessions', o.sessions, 1, 500);
  if (!Number.isInteger(o.sessions)) throw new Error(`soak bench: sessions must be an integer, got ${o.sessions}`);
  c.range('size', o.size, 100, 10 * 1024 * 1024);
  c.range('flapEverySec', o.flapEverySec, 1, 86_400);
  c.range('downSec', o.downSec, 0, o.flapEverySec);
  c.range('retrySec', o.retrySec, 1, 3600);
  c.range('sampleEverySec', o.sampleEverySec, 0.1, 3600);
  c.range('drainTimeoutSec', o.drainTimeoutSec, 1, 86_400);
  return o;
}

/** The soak options from the command line (preset first, then each flag; durations as 90, 90s, 5m, 1h). */
export function soakOptionsFromArgs(argv: readonly string[]): { options: SoakBenchOptions; out: string | undefined } {
  const values = parseFlags(argv, { duration: 'string', rate: 'string', sessions: 'string', size: 'string', 'flap-every': 'string', down: 'string', retry: 'string', 'sample-every': 'string', 'drain-timeout': 'string' });
  const base = values.quick ? SOAK_QUICK_PRESET : SOAK_FULL_PRESET;
  const options: SoakBenchOptions = {
    ...base,
    durationSec: seconds('soak', 'duration', values.duration) ?? base.durationSec,
    ratePerSec: int(values.rate) ?? base.ratePerSec,
    sessions: int(values.sessions) ?? base.sessions,
    size: int(values.size) ?? base.size,
    flapEverySec: seconds('soak', 'flap-every', values['flap-every']) ?? base.flapEverySec,
    downSec: seconds('soak', 'down', values.down) ?? base.downSec,
    retrySec: seconds('soak', 'retry', values.retry) ?? base.retrySec,
    sampleEverySec: seconds('soak', 'sample-every', values['sample-every']) ?? base.sampleEverySec,
    drainTimeoutSec: seconds('soak', 'drain-timeout', values['drain-timeout']) ?? base.drainTimeoutSec,
    ...moatConfigFromEnv(),
    log: stderrLog,
  };
  return { options, out: values.out };
}
