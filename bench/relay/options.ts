// Options of the relay benchmark, the full and --quick presets, and their validation.
// Every figure in README.md is defined for these knobs; defaults live only here.
import { CONNECTION_MODES, SYSTEM_NAMES } from './gateway.js';
import type { ConnectionMode, SystemName } from './gateway.js';

export interface RelayBenchOptions {
  readonly systems: readonly SystemName[];
  /** Payload sizes in octets (smtp-source -l, and the latency client's body size). */
  readonly sizes: readonly number[];
  /** Concurrent sessions (smtp-source -s, and the latency client's connections). */
  readonly sessions: readonly number[];
  /** Connection modes: a new connection per message, and/or reused connections (smtp-source -d). */
  readonly modes: readonly ConnectionMode[];
  /** Messages per throughput run (smtp-source -m). */
  readonly messages: number;
  /** Messages per latency sub-run (0 = no latency sub-run). */
  readonly latencyMessages: number;
  /** Repeats per point and system; figures are medians over them. */
  readonly repeats: number;
  /** Messages sent once per system before measuring (not recorded). */
  readonly warmupMessages: number;
  /** Bound on one run (load plus delivery to the sink). */
  readonly runTimeoutMs: number;
  /** Extra node flags for Moat's supervisor, inherited by its workers (e.g. --cpu-prof). */
  readonly moatNodeArgs?: readonly string[];
  /** Config keys merged over Moat's bench config (MOAT_BENCH_CONFIG, JSON), e.g. {"messageLog":{"enabled":false}}. */
  readonly moatConfig?: Readonly<Record<string, unknown>>;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

export const FULL_PRESET: RelayBenchOptions = {
  systems: SYSTEM_NAMES,
  sizes: [5 * 1024, 50 * 1024],
  sessions: [20, 100],
  modes: CONNECTION_MODES,
  messages: 3000,
  latencyMessages: 1000,
  repeats: 5,
  warmupMessages: 1000,
  runTimeoutMs: 300_000,
};

/** 300 messages per system and mode, one size, one concurrency: well under a minute. */
export const QUICK_PRESET: RelayBenchOptions = {
  systems: SYSTEM_NAMES,
  sizes: [5 * 1024],
  sessions: [20],
  modes: CONNECTION_MODES,
  messages: 200,
  latencyMessages: 100,
  repeats: 1,
  warmupMessages: 40,
  runTimeoutMs: 30_000,
};

/** Throws naming the first bad option. */
export function checkOptions(o: RelayBenchOptions): RelayBenchOptions {
  const posInt = (name: string, v: number, max: number, min = 1): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`relay bench: ${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  if (o.systems.length === 0) throw new Error('relay bench: no systems');
  for (const s of o.systems) if (!SYSTEM_NAMES.includes(s)) throw new Error(`relay bench: unknown system ${s}`);
  if (o.sizes.length === 0 || o.sessions.length === 0 || o.modes.length === 0) throw new Error('relay bench: need at least one size, one session count and one mode');
  for (const m of o.modes) if (!CONNECTION_MODES.includes(m)) throw new Error(`relay bench: unknown connection mode ${m} (${CONNECTION_MODES.join(', ')})`);
  for (const s of o.sizes) posInt('size', s, 10 * 1024 * 1024, 0);
  for (const s of o.sessions) posInt('sessions', s, 1000);
  posInt('messages', o.messages, 1_000_000);
  posInt('latencyMessages', o.latencyMessages, 1_000_000, 0);
  posInt('repeats', o.repeats, 100);
  posInt('warmupMessages', o.warmupMessages, 1_000_000, 0);
  posInt('runTimeoutMs', o.runTimeoutMs, 3_600_000, 1000);
  return o;
}
