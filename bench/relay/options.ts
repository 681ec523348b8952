// Options of the relay benchmark, the full and --quick presets, their command line (the shared
// parser of bench/lib/options.ts) and their validation.
// Every figure in README.md is defined for these knobs; defaults live only here.
import { checks, int, list, moatConfigFromEnv, moatNodeArgsFromEnv, numbers, parseFlags, stderrLog } from '../lib/options.js';
import { CONNECTION_MODES, SYSTEM_NAMES } from './gateway.js';
import type { ConnectionMode, SystemName } from './gateway.js';
import { canRunPostfix } from './postfix-gateway.js';

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
  const c = checks('relay');
  c.nonEmpty('systems', o.systems);
  c.oneOf('system', o.systems, SYSTEM_NAMES, false);
  if (o.sizes.length === 0 || o.sessions.length === 0 || o.modes.length === 0) throw new Error('relay bench: need at least one size, one session count and one mode');
  c.oneOf('connection mode', o.modes, CONNECTION_MODES);
  for (const s of o.sizes) c.int('size', s, 0, 10 * 1024 * 1024);
  for (const s of o.sessions) c.int('sessions', s, 1, 1000);
  c.int('messages', o.messages, 1, 1_000_000);
  c.int('latencyMessages', o.latencyMessages, 0, 1_000_000);
  c.int('repeats', o.repeats, 1, 100);
  c.int('warmupMessages', o.warmupMessages, 0, 1_000_000);
  c.int('runTimeoutMs', o.runTimeoutMs, 1000, 3_600_000);
  return o;
}

/** --systems, or the preset's without Postfix when it cannot run here (not root). */
export function systemsOr(v: string | undefined, base: readonly SystemName[]): SystemName[] {
  return (list(v) as SystemName[] | undefined) ?? base.filter((s) => s !== 'postfix' || canRunPostfix());
}

/** The relay options from the command line (preset first, then each flag). */
export function relayOptionsFromArgs(argv: readonly string[]): { options: RelayBenchOptions; out: string | undefined } {
  const values = parseFlags(argv, { messages: 'string', 'latency-messages': 'string', repeats: 'string', sizes: 'string', sessions: 'string', systems: 'string', modes: 'string', warmup: 'string' });
  const base = values.quick ? QUICK_PRESET : FULL_PRESET;
  const nodeArgs = moatNodeArgsFromEnv();
  const options: RelayBenchOptions = {
    ...base,
    systems: systemsOr(values.systems, base.systems),
    sizes: numbers(values.sizes) ?? base.sizes,
    sessions: numbers(values.sessions) ?? base.sessions,
    modes: (list(values.modes) as ConnectionMode[] | undefined) ?? base.modes,
    messages: int(values.messages) ?? base.messages,
    latencyMessages: int(values['latency-messages']) ?? base.latencyMessages,
    repeats: int(values.repeats) ?? base.repeats,
    warmupMessages: int(values.warmup) ?? base.warmupMessages,
    ...(nodeArgs.length > 0 ? { moatNodeArgs: nodeArgs } : {}),
    ...moatConfigFromEnv(),
    log: stderrLog,
  };
  return { options, out: values.out };
}
