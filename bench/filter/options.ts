// Options of the filter benchmark, the full and --quick presets, their command line (the shared
// parser of bench/lib/options.ts) and their validation. Every figure in bench/README.md is
// defined for these knobs; defaults live only here.
import { checks, int, list, moatConfigFromEnv, numbers, parseFlags, stderrLog } from '../lib/options.js';
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
  const c = checks('filter');
  c.nonEmpty('systems', o.systems);
  c.oneOf('system', o.systems, FILTER_SYSTEMS);
  c.nonEmpty('mixes', o.mixes);
  c.oneOf('mix', o.mixes, MIX_NAMES);
  c.nonEmpty('session counts', o.sessions);
  for (const s of o.sessions) c.int('sessions', s, 1, 500);
  c.int('messages', o.messages, 1, 200_000);
  c.int('repeats', o.repeats, 1, 50);
  c.int('warmupMessages', o.warmupMessages, 0, 100_000);
  c.int('syntheticCount', o.syntheticCount, 1, 10_000);
  c.int('syntheticSize', o.syntheticSize, 100, 10 * 1024 * 1024);
  c.int('corpusCount', o.corpusCount, 1, 6000);
  c.int('maxCorpusSize', o.maxCorpusSize, 1024, 10 * 1024 * 1024);
  c.int('virusEvery', o.virusEvery, 0, 1_000_000);
  c.int('runTimeoutMs', o.runTimeoutMs, 1000, 3_600_000);
  return o;
}

/** The filter options from the command line (preset first, then each flag). */
export function filterOptionsFromArgs(argv: readonly string[]): { options: FilterBenchOptions; out: string | undefined } {
  const values = parseFlags(argv, { systems: 'string', mixes: 'string', sessions: 'string', messages: 'string', repeats: 'string', warmup: 'string', corpus: 'string', 'virus-every': 'string', 'moat-spamassassin': 'boolean' });
  const base = values.quick ? FILTER_QUICK_PRESET : FILTER_FULL_PRESET;
  const options: FilterBenchOptions = {
    ...base,
    systems: (list(values.systems) as FilterSystem[] | undefined) ?? base.systems,
    mixes: (list(values.mixes) as MixName[] | undefined) ?? base.mixes,
    sessions: numbers(values.sessions) ?? base.sessions,
    messages: int(values.messages) ?? base.messages,
    repeats: int(values.repeats) ?? base.repeats,
    warmupMessages: int(values.warmup) ?? base.warmupMessages,
    corpusCount: int(values.corpus) ?? base.corpusCount,
    virusEvery: int(values['virus-every']) ?? base.virusEvery,
    moatSpamassassin: values['moat-spamassassin'] ?? base.moatSpamassassin,
    ...moatConfigFromEnv(),
    log: stderrLog,
  };
  return { options, out: values.out };
}
