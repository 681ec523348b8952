// Options of the filter benchmark, the full and --quick presets, and their validation. Every figure
// in bench/README.md is defined for these knobs; defaults live only here.
import { MIX_NAMES } from './mix.js';
import type { MixName } from './mix.js';

export type FilterSystem = 'moat' | 'postfix-sa' | 'postfix-rspamd';
export const FILTER_SYSTEMS: readonly FilterSystem[] = ['moat', 'postfix-sa', 'postfix-rspamd'];
export const FILTER_ANCHORS: readonly Exclude<FilterSystem, 'moat'>[] = ['postfix-sa', 'postfix-rspamd'];
export const FILTER_LABELS: Readonly<Record<FilterSystem, string>> = { moat: 'Moat', 'postfix-sa': 'Postfix+SpamAssassin', 'postfix-rspamd': 'Postfix+Rspamd' };

export interface FilterBenchOptions {
  readonly systems: readonly FilterSystem[];
  readonly mixes: readonly MixName[];
  /** Concurrent sessions of the load client (a new connection per message). */
  readonly sessions: readonly number[];
  /** Messages per run (cycling through the mix). */
  readonly messages: number;
  readonly repeats: number;
  /** Unrecorded messages per system before measuring, spread over the points. */
  readonly warmupMessages: number;
  /** Distinct synthetic messages (each DKIM-signed once). */
  readonly syntheticCount: number;
  /** Body octets of a synthetic message. */
  readonly syntheticSize: number;
  /** Corpus messages sampled. */
  readonly corpusCount: number;
  /** Corpus messages larger than this are left out. */
  readonly maxCorpusSize: number;
  /** One message in this many carries EICAR (0: none). */
  readonly virusEvery: number;
  /** Bound on one run (load plus delivery to the sink). */
  readonly runTimeoutMs: number;
  /** Moat also asks a spamd of its own (set up as Postfix+SpamAssassin's); default off. */
  readonly moatSpamassassin: boolean;
  /** Config keys merged over Moat's filter config (MOAT_BENCH_CONFIG). */
  readonly moatConfig?: Readonly<Record<string, unknown>>;
  readonly log?: (line: string) => void;
}

export const FILTER_FULL_PRESET: FilterBenchOptions = {
  systems: FILTER_SYSTEMS,
  mixes: MIX_NAMES,
  sessions: [20, 50],
  messages: 1000,
  repeats: 3,
  warmupMessages: 300,
  syntheticCount: 100,
  syntheticSize: 5 * 1024,
  corpusCount: 600,
  maxCorpusSize: 256 * 1024,
  virusEvery: 50,
  runTimeoutMs: 600_000,
  moatSpamassassin: false,
};

/**
 * The smoke preset: the synthetic mix only (no corpus to install), one point, 30 messages a run:
 * Postfix + SpamAssassin does about 2 msg/s on two cores, so this stays under a minute.
 */
export const FILTER_QUICK_PRESET: FilterBenchOptions = {
  ...FILTER_FULL_PRESET,
  mixes: ['synthetic'],
  sessions: [10],
  messages: 30,
  repeats: 1,
  warmupMessages: 10,
  syntheticCount: 15,
  corpusCount: 100,
  virusEvery: 10,
  runTimeoutMs: 120_000,
};

/** Throws naming the first bad option. */
export function checkFilterOptions(o: FilterBenchOptions): FilterBenchOptions {
  const int = (name: string, v: number, max: number, min = 1): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`filter bench: ${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  if (o.systems.length === 0) throw new Error('filter bench: no systems');
  for (const s of o.systems) if (!FILTER_SYSTEMS.includes(s)) throw new Error(`filter bench: unknown system ${s} (${FILTER_SYSTEMS.join(', ')})`);
  if (o.mixes.length === 0) throw new Error('filter bench: no mixes');
  for (const m of o.mixes) if (!MIX_NAMES.includes(m)) throw new Error(`filter bench: unknown mix ${m} (${MIX_NAMES.join(', ')})`);
  if (o.sessions.length === 0) throw new Error('filter bench: no session counts');
  for (const s of o.sessions) int('sessions', s, 500);
  int('messages', o.messages, 200_000);
  int('repeats', o.repeats, 50);
  int('warmupMessages', o.warmupMessages, 100_000, 0);
  int('syntheticCount', o.syntheticCount, 10_000);
  int('syntheticSize', o.syntheticSize, 10 * 1024 * 1024, 100);
  int('corpusCount', o.corpusCount, 6000);
  int('maxCorpusSize', o.maxCorpusSize, 10 * 1024 * 1024, 1024);
  int('virusEvery', o.virusEvery, 1_000_000, 0);
  int('runTimeoutMs', o.runTimeoutMs, 3_600_000, 1000);
  return o;
}
