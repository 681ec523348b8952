/**
 * rules: header, body, rawbody, full, uri and meta rules in SpamAssassin's .cf syntax
 * (docs/rules.md), at end of data. Each rule is a symbol with the score its file gives it; Moat's
 * shipped set (MOAT_*) is known statically (shipped.ts), the operator's files and a SpamAssassin
 * directory are read on first use (or when the worker calls prepare() after building the checks),
 * compiled once per check instance — a SIGHUP builds a new one — and reported in one `rules.loaded`
 * log line with counts by skip reason and the problems with file:line. Config validation builds
 * this check with the files already read (`preloaded`), so that `policy.symbols` may name their rules.
 * The rule pass runs in a thread (thread.ts) under `budget`: past it the pass stops with
 * RULES_BUDGET_EXCEEDED, a transient finding of score 0, and what had hit until then.
 * Trusts the files to be the operator's; a rule that cannot be read or run is skipped, never fatal.
 * A thread that dies fails the check (RULES_TEMPFAIL: defer, or failOpen).
 */
import type { Logger } from '../../platform/logger.js';
import { formatMailbox } from '../../smtp/address.js';
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import { compileRules, type RuleSet, type RulesReport } from './compiler.js';
import type { RulesConfig } from './config.js';
import { buildInput } from './input.js';
import { loadSources, type LoadedSources, type RuleFiles } from './loader.js';
import { SHIPPED_SYMBOLS } from './shipped.js';
import { inlineRunner, threadRunner, type RuleRunner } from './thread.js';

export { rulesSchema, type RulesConfig } from './config.js';

export const BUDGET_SYMBOL: SymbolDef = {
  name: 'RULES_BUDGET_EXCEEDED',
  description: 'The rule pass ran out of its time budget (checks.rules.budget) and stopped; rules after it did not run',
  score: 0,
};

export interface RulesPorts {
  readonly files: RuleFiles;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

export interface RulesOptions {
  /** Symbols other checks report: rules may not take their names. */
  readonly taken?: ReadonlySet<string>;
  /** Files already read (config validation): compiled at once, every rule's symbol known. */
  readonly preloaded?: LoadedSources;
  /** 'inline' runs on the calling thread, without the hard deadline (tests, benchmarks). */
  readonly runner?: 'thread' | 'inline';
  /** The rule thread's script (default: worker.js beside this module). */
  readonly workerUrl?: URL;
}

export interface RulesCheck extends Check {
  /** The compiled set and its report, loading on the first call. */
  loaded(): Promise<{ readonly set: RuleSet; readonly report: RulesReport; readonly sources: LoadedSources }>;
  /** The report of a preloaded check (validation), else null until loaded. */
  report(): RulesReport | null;
  readonly sourcesRead: LoadedSources | null;
}

const toDef = (s: { name: string; score: number; description: string }): SymbolDef => ({ name: s.name, score: s.score, description: s.description });

export function rulesCheck(config: RulesConfig, ports: RulesPorts, options: RulesOptions = {}): RulesCheck {
  const taken = options.taken ?? new Set<string>();
  const compile = (sources: LoadedSources): { set: RuleSet; report: RulesReport; sources: LoadedSources } => ({ ...compileRules(sources.sources, { scoreSet: config.scoreSet, taken }), sources });
  const eager = options.preloaded ? compile(options.preloaded) : null;
  const late = new Map<string, SymbolDef>();
  let loading: Promise<{ set: RuleSet; report: RulesReport; sources: LoadedSources; runner: RuleRunner }> | null = null;
  const load = (): Promise<{ set: RuleSet; report: RulesReport; sources: LoadedSources; runner: RuleRunner }> =>
    (loading ??= (async () => {
      const c = eager ?? compile(await loadSources(config, ports.files));
      for (const s of c.set.symbols) late.set(s.name, toDef(s));
      const r = c.report;
      ports.logger?.[c.sources.unreadable.length > 0 || r.problems.length > 0 ? 'warn' : 'info']('rules.loaded', {
        loaded: r.loaded,
        symbols: r.symbols,
        skipped: r.skipped,
        files: c.sources.sources.length,
        ...(c.sources.unreadable.length > 0 ? { unreadable: c.sources.unreadable.map((u) => `${u.path}: ${u.error}`) } : {}),
        ...(r.problems.length > 0 ? { problems: r.problems.length, firstProblems: r.problems.slice(0, 20).map((p) => `${p.file}:${p.line}: ${p.message}`) } : {}),
      });
      const runner = options.runner === 'inline' ? inlineRunner(c.set, config.budget) : threadRunner(c.set, config.budget, config.threads, options.workerUrl);
      return { ...c, runner };
    })());
  const shipped = config.shipped ? SHIPPED_SYMBOLS.filter((s) => !taken.has(s.name)).map(toDef) : [];
  const symbols: SymbolDef[] = [BUDGET_SYMBOL, ...(eager ? eager.set.symbols.map(toDef) : shipped)];
  return {
    name: 'rules',
    symbols,
    lookupSymbol: (name) => late.get(name),
    symbolsPending: !eager && (config.files.length > 0 || config.spamassassinDir !== null),
    prepare: async () => {
      await load();
    },
    loaded: load,
    report: () => eager?.report ?? null,
    sourcesRead: options.preloaded ?? null,
    open: () => ({
      data: async (message, ctx, signal) => {
        const c = await load();
        if (c.set.rules.length === 0) return [];
        const input = buildInput(message, await message.mime(), ctx.from === null ? null : formatMailbox(ctx.from), c.set.needs);
        const r = await c.runner.run(input, signal);
        const out: Finding[] = r.hits.map((h) => (h.count > 1 ? { symbol: h.name, detail: `${h.count} hits` } : { symbol: h.name }));
        if (r.stoppedAt !== null) {
          out.push({
            symbol: BUDGET_SYMBOL.name,
            detail: `${r.killed ? 'rule thread stopped in' : 'stopped after'} ${r.stoppedAt} at ${Math.round(r.elapsedMs)} ms (budget ${config.budget} ms)`,
            transient: true,
          });
        }
        return out;
      },
    }),
  };
}
