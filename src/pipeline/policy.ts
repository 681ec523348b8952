/**
 * Policy: what the operator does about what checks found (CONVENTIONS.md 3). Symbols get scores and
 * optional hard actions (defaults from the checks, overrides from config); thresholds map a message's
 * total to an action. Every verdict carries its explanation: the scored findings, the total, the
 * thresholds and the reason. Fails safe (CONVENTIONS.md 6): when a check that could have exempted the
 * message failed transiently, a score-based reject becomes a defer.
 */
import type { Mailbox } from '../smtp/address.js';
import { formatMailbox } from '../smtp/address.js';
import type { PolicyConfig, SymbolOverrides, Thresholds } from './config.js';
import type { Finding, HardAction, Phase, SymbolDef } from './types.js';

export class PolicyError extends Error {
  readonly code = 'POLICY_CONFIG';
  constructor(
    /** Config path of the offending key, e.g. "policy.symbols.NOPE". */
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface ScoredFinding {
  readonly check: string;
  readonly phase: Phase;
  readonly symbol: string;
  readonly detail: string;
  /** Effective score (symbol score × weight); 0 when observed only. */
  readonly score: number;
  readonly action: HardAction | null;
  /** From a check in observe-only mode: shown, never acted on. */
  readonly observed: boolean;
  readonly transient: boolean;
  readonly description: string;
}

export type FinalAction = 'accept' | 'tag' | 'quarantine' | 'reject' | 'defer';

export interface Explanation {
  readonly action: FinalAction;
  readonly score: number;
  readonly thresholds: Thresholds;
  readonly findings: readonly ScoredFinding[];
  /** Why this action, e.g. "score 16.20 >= reject 15" or "symbol CLAMAV_VIRUS: reject". */
  readonly reason: string;
  /** The finding that decided, when a hard action did. */
  readonly decidedBy: ScoredFinding | null;
  /** The policy profile applied (domain or address of the override, or "default"). */
  readonly profile: string;
}

/** The policy for one set of recipients: thresholds and symbol table after overrides. */
export interface Profile {
  readonly id: string;
  readonly thresholds: Thresholds;
  readonly subjectTag: string | null;
  score(f: Finding, def: SymbolDef | undefined): { score: number; action: HardAction | null };
}

const ACTION_RANK: Readonly<Record<HardAction, number>> = { reject: 5, defer: 4, accept: 3, quarantine: 2, tag: 1 };

function profileOf(id: string, thresholds: Thresholds, subjectTag: string | null, overrides: SymbolOverrides): Profile {
  return {
    id,
    thresholds,
    subjectTag,
    score(f, def) {
      const o = def?.locked ? undefined : overrides[f.symbol];
      const base = o?.score ?? def?.score ?? 0;
      const action = o?.action === 'none' ? null : (o?.action ?? def?.action ?? null);
      return { score: base * (f.weight ?? 1), action };
    },
  };
}

export class Policy {
  private readonly symbols = new Map<string, SymbolDef>();
  private readonly base: Profile;
  private readonly profiles = new Map<string, Profile>();
  /** Mail outbound sessions send (src/outbound): its own thresholds, the global symbol table. */
  readonly outboundProfile: Profile;

  constructor(
    private readonly config: PolicyConfig,
    symbols: readonly SymbolDef[],
    outbound: { readonly [K in keyof Thresholds]?: Thresholds[K] | undefined } = {},
  ) {
    for (const s of symbols) this.symbols.set(s.name, s);
    const unknown = (o: SymbolOverrides, path: string): void => {
      for (const name of Object.keys(o)) {
        if (!this.symbols.has(name)) throw new PolicyError(`${path}.${name}`, 'unknown symbol (`moat symbols` lists them)');
        if (this.symbols.get(name)?.locked) throw new PolicyError(`${path}.${name}`, 'this symbol cannot be changed');
      }
    };
    unknown(config.symbols, 'policy.symbols');
    this.base = profileOf('default', config.actions, config.subjectTag, config.symbols);
    this.outboundProfile = profileOf('outbound', { ...config.actions, ...Object.fromEntries(Object.entries(outbound).filter(([, v]) => v !== undefined)) }, null, config.symbols);
    for (const [key, o] of Object.entries(config.overrides)) {
      if (o.symbols) unknown(o.symbols, `policy.overrides.${key}.symbols`);
      const id = key.toLowerCase();
      this.profiles.set(
        id,
        profileOf(
          id,
          {
            tag: o.actions?.tag === undefined ? config.actions.tag : o.actions.tag,
            quarantine: o.actions?.quarantine === undefined ? config.actions.quarantine : o.actions.quarantine,
            reject: o.actions?.reject === undefined ? config.actions.reject : o.actions.reject,
          },
          o.subjectTag === undefined ? config.subjectTag : o.subjectTag,
          { ...config.symbols, ...o.symbols },
        ),
      );
    }
  }

  get softBounce(): boolean {
    return this.config.softBounce;
  }

  symbol(name: string): SymbolDef | undefined {
    return this.symbols.get(name);
  }

  allSymbols(): SymbolDef[] {
    return [...this.symbols.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The profile for a recipient: its address's override, else its domain's, else the default. */
  profileFor(to: Mailbox): Profile {
    return this.profiles.get(formatMailbox(to).toLowerCase()) ?? this.profiles.get(to.domain) ?? this.base;
  }

  get defaultProfile(): Profile {
    return this.base;
  }

  /** Scores one finding under a profile. */
  scoreFinding(f: Finding, check: string, phase: Phase, observed: boolean, profile: Profile): ScoredFinding {
    const def = this.symbols.get(f.symbol);
    const { score, action } = profile.score(f, def);
    return {
      check,
      phase,
      symbol: f.symbol,
      detail: f.detail ?? '',
      score: observed ? 0 : score,
      action: observed ? null : action,
      observed,
      transient: f.transient === true,
      description: def?.description ?? '',
    };
  }

  /** The strongest hard action among findings, if any (for in-phase decisions and the final verdict). */
  strongest(findings: readonly ScoredFinding[], only?: readonly HardAction[]): ScoredFinding | null {
    let best: ScoredFinding | null = null;
    for (const f of findings) {
      if (!f.action || (only && !only.includes(f.action))) continue;
      if (!best || ACTION_RANK[f.action] > ACTION_RANK[best.action as HardAction]) best = f;
    }
    return best;
  }

  /**
   * The end-of-data verdict over every finding of the transaction (session findings included).
   * `couldExempt` names checks whose transient failure blocks a score-based reject.
   */
  verdict(findings: readonly ScoredFinding[], profile: Profile, couldExempt: ReadonlySet<string>): Explanation {
    const score = Math.round(findings.reduce((s, f) => s + f.score, 0) * 100) / 100;
    const t = profile.thresholds;
    const explain = (action: FinalAction, reason: string, decidedBy: ScoredFinding | null = null): Explanation => ({
      action,
      score,
      thresholds: t,
      findings,
      reason,
      decidedBy,
      profile: profile.id,
    });
    const hard = this.strongest(findings);
    if (hard && (hard.action === 'reject' || hard.action === 'defer' || hard.action === 'accept')) {
      return explain(hard.action, `symbol ${hard.symbol}: ${hard.action}`, hard);
    }
    const byScore: FinalAction =
      t.reject !== null && score >= t.reject ? 'reject' : t.quarantine !== null && score >= t.quarantine ? 'quarantine' : t.tag !== null && score >= t.tag ? 'tag' : 'accept';
    // A hard quarantine/tag raises a lower score-based action, never lowers a higher one.
    const rank: Record<FinalAction, number> = { accept: 0, tag: 1, quarantine: 2, reject: 3, defer: 4 };
    if (hard && rank[hard.action as FinalAction] > rank[byScore]) return explain(hard.action as FinalAction, `symbol ${hard.symbol}: ${hard.action}`, hard);
    if (byScore === 'reject') {
      const failed = findings.find((f) => f.transient && couldExempt.has(f.check));
      if (failed) return explain('defer', `score ${score} >= reject ${t.reject}, but ${failed.check} could not decide (${failed.symbol})`, failed);
      return explain('reject', `score ${score} >= reject ${t.reject}`);
    }
    if (byScore === 'accept') return explain('accept', `score ${score} below every threshold`);
    return explain(byScore, `score ${score} >= ${byScore} ${t[byScore]}`);
  }
}

/** Symbols of a check that can lower a score or force acceptance: its failure may hide an exemption. */
export function canExempt(symbols: readonly SymbolDef[]): boolean {
  return symbols.some((s) => s.score < 0 || s.action === 'accept');
}
