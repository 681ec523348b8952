/**
 * Runs the checks of each SMTP phase in their configured order and keeps what they found: session
 * findings (connect, HELO) for the whole connection, transaction findings (MAIL, accepted RCPTs, end
 * of data) until the transaction ends. A hard reject or defer decides in its phase; everything else
 * is scored at end of data. A check that throws counts as a transient failure (CONVENTIONS.md 6):
 * its TEMPFAIL symbol defers unless the operator made that check fail open.
 */
import type { Mailbox, ReversePath } from '../smtp/address.js';
import type { MailParams } from '../smtp/params.js';
import type { MessageView } from './message.js';
import type { PolicyConfig, Thresholds } from './config.js';
import { Policy, type Explanation, type Profile, type ScoredFinding } from './policy.js';
import type { Check, CheckRun, DataContext, EarlyTalkInfo, Finding, Phase, PhaseContext, SessionFacts, SessionInfo, SymbolDef, TransactionFacts } from './types.js';

/** A check as configured: observe-only checks are run and shown, never acted on. */
export interface CheckEntry {
  readonly check: Check;
  readonly observe: boolean;
  /** A failure of this check is logged and ignored instead of deferring. */
  readonly failOpen: boolean;
}

export interface PipelineDeps {
  readonly checks: readonly CheckEntry[];
  readonly policy: Policy;
  readonly isLocal: PhaseContext['isLocal'];
  /** Called for every failure of a fail-open check, so that its use is always logged. */
  readonly onFailOpen?: (check: string, phase: Phase, error: unknown) => void;
  /**
   * Checks not run for outbound sessions and on submission listeners (outbound.skipChecks): the
   * reputation, sender-authentication and greylisting of the internet's mail say nothing about the
   * organization's own (a DMARC check would even refuse it before our DKIM signature exists).
   */
  readonly outboundSkips?: ReadonlySet<string>;
}

export type PhaseOutcome =
  | { readonly kind: 'continue'; readonly findings: readonly ScoredFinding[] }
  | { readonly kind: 'reject' | 'defer'; readonly findings: readonly ScoredFinding[]; readonly because: ScoredFinding };

/** TEMPFAIL symbol of a check: "greylist" → GREYLIST_TEMPFAIL. */
export function tempfailSymbol(check: string): string {
  return `${check.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_TEMPFAIL`;
}

export function tempfailDef(check: string): SymbolDef {
  return { name: tempfailSymbol(check), description: `The ${check} check could not decide (temporary failure)`, score: 0, action: 'defer' };
}

/**
 * Checks with a symbol that lowers the score or accepts: their transient failure blocks a
 * score-based reject (Policy.verdict). Made once per check list and policy, not per session:
 * it scores every symbol of every check (about 0.3 ms CPU with the shipped rules, which was
 * 4% of a `moat scan`, one session per message).
 */
const exemptMemo = new WeakMap<readonly CheckEntry[], { readonly policy: Policy; readonly names: ReadonlySet<string> }>();

function couldExempt(checks: readonly CheckEntry[], p: Policy): ReadonlySet<string> {
  const known = exemptMemo.get(checks);
  if (known && known.policy === p) return known.names;
  const names = new Set(
    checks
      .filter((e) => e.check.symbols.some((s) => {
        const { score, action } = p.defaultProfile.score({ symbol: s.name }, p.symbol(s.name));
        return score < 0 || action === 'accept';
      }))
      .map((e) => e.check.name),
  );
  exemptMemo.set(checks, { policy: p, names });
  return names;
}

function emptyTx(): TransactionFacts {
  return { authResults: [] };
}

export class PipelineSession {
  private readonly runs: { entry: CheckEntry; run: CheckRun }[];
  readonly facts: SessionFacts = {};
  private tx: TransactionFacts = emptyTx();
  private sessionFindings: ScoredFinding[] = [];
  private txFindings: ScoredFinding[] = [];
  private profile: Profile | null = null;
  private readonly couldExempt: ReadonlySet<string>;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly session: SessionInfo,
  ) {
    this.runs = deps.checks.map((entry) => ({ entry, run: entry.check.open(session) }));
    this.couldExempt = couldExempt(deps.checks, deps.policy);
  }

  get transactionFacts(): TransactionFacts {
    return this.tx;
  }

  /** The profile the transaction is locked to (its first accepted recipient's), or the default. */
  get transactionProfile(): Profile {
    return this.profile ?? this.deps.policy.defaultProfile;
  }

  private context(): PhaseContext {
    return { session: this.session, facts: this.facts, tx: this.tx, isLocal: this.deps.isLocal };
  }

  private async run(
    phase: Phase,
    call: (run: CheckRun, ctx: PhaseContext, signal: AbortSignal) => Promise<Finding[]> | undefined,
    signal: AbortSignal,
    profile: Profile,
  ): Promise<PhaseOutcome> {
    const p = this.deps.policy;
    const found: ScoredFinding[] = [];
    const ctx = this.context();
    for (const { entry, run } of this.runs) {
      const name = entry.check.name;
      if ((this.facts.outbound || this.facts.submission) && this.deps.outboundSkips?.has(name)) continue;
      if (signal.aborted) {
        found.push(p.scoreFinding({ symbol: tempfailSymbol(name), detail: `${phase}: deadline passed`, transient: true }, name, phase, entry.observe, profile));
        break;
      }
      let result: Finding[] | undefined;
      try {
        result = await call(run, ctx, signal);
      } catch (e) {
        if (entry.failOpen) {
          this.deps.onFailOpen?.(name, phase, e);
          continue;
        }
        const detail = `${phase}: ${signal.aborted ? 'deadline passed' : e instanceof Error ? e.message : String(e)}`;
        result = [{ symbol: tempfailSymbol(name), detail, transient: true }];
      }
      if (!result || result.length === 0) continue;
      const scored = result.map((f) => p.scoreFinding(f, name, phase, entry.observe, profile));
      found.push(...scored);
      const hard = p.strongest(scored, ['reject', 'defer']);
      if (hard) return { kind: hard.action === 'reject' ? 'reject' : 'defer', findings: found, because: hard };
    }
    return { kind: 'continue', findings: found };
  }

  async connect(signal: AbortSignal): Promise<PhaseOutcome> {
    const o = await this.run('connect', (r, c, s) => r.connect?.(c, s), signal, this.deps.policy.defaultProfile);
    this.sessionFindings.push(...o.findings);
    return o;
  }

  /** The longest pregreet wait any check asks for (0: greet at once). */
  async greetWait(signal: AbortSignal): Promise<number> {
    let wait = 0;
    for (const { entry, run } of this.runs) {
      if (!run.greetWait || entry.observe) continue;
      if ((this.facts.outbound || this.facts.submission) && this.deps.outboundSkips?.has(entry.check.name)) continue;
      try {
        wait = Math.max(wait, await run.greetWait(this.context(), signal));
      } catch (e) {
        // Not knowing whether to wait is no reason to refuse: greet at once.
        this.deps.onFailOpen?.(entry.check.name, 'connect', e);
      }
    }
    return wait;
  }

  /** After the pregreet wait: what checks make of a client that talked first (or didn't). */
  async greeted(early: EarlyTalkInfo, signal: AbortSignal): Promise<PhaseOutcome> {
    const o = await this.run('connect', (r, c, s) => r.greeted?.(early, c, s), signal, this.deps.policy.defaultProfile);
    this.sessionFindings.push(...o.findings);
    return o;
  }

  async helo(name: string, signal: AbortSignal): Promise<PhaseOutcome> {
    // A new HELO replaces what the previous one found (RFC 5321 §4.1.4: it resets the state).
    this.sessionFindings = this.sessionFindings.filter((f) => f.phase !== 'helo');
    this.facts.helo = name;
    const o = await this.run('helo', (r, c, s) => r.helo?.(name, c, s), signal, this.deps.policy.defaultProfile);
    this.sessionFindings.push(...o.findings);
    return o;
  }

  async mailFrom(from: ReversePath, params: MailParams, signal: AbortSignal): Promise<PhaseOutcome> {
    this.reset();
    const o = await this.run('mailFrom', (r, c, s) => r.mailFrom?.(from, params, c, s), signal, this.deps.policy.defaultProfile);
    this.txFindings.push(...o.findings);
    return o;
  }

  /**
   * Checks one recipient. A recipient whose policy profile differs from the transaction's gets
   * 'other-profile' (the caller answers 452 4.5.3 so the client sends it in a new transaction).
   */
  async rcptTo(to: Mailbox, from: ReversePath, signal: AbortSignal): Promise<PhaseOutcome | { readonly kind: 'other-profile' }> {
    // Outbound mail is judged by the outbound profile, whatever the recipient (src/outbound).
    const profile = this.facts.outbound ? this.deps.policy.outboundProfile : this.deps.policy.profileFor(to);
    if (this.profile && this.profile.id !== profile.id) return { kind: 'other-profile' };
    const o = await this.run('rcptTo', (r, c, s) => r.rcptTo?.(to, { ...c, from }, s), signal, profile);
    if (o.kind === 'continue') {
      this.profile = profile;
      // A symbol counts once per message, however many recipients raised it.
      for (const f of o.findings) if (!this.txFindings.some((g) => g.symbol === f.symbol && g.phase === 'rcptTo')) this.txFindings.push(f);
    }
    return o;
  }

  /** End of data: the content checks, then one verdict over everything the transaction found. */
  async data(message: MessageView, data: DataContext, signal: AbortSignal): Promise<Explanation> {
    const profile = this.transactionProfile;
    const o = await this.run('data', (r, c, s) => r.data?.(message, { ...c, ...data }, s), signal, profile);
    this.txFindings.push(...o.findings);
    const v = this.deps.policy.verdict([...this.sessionFindings, ...this.txFindings], profile, this.couldExempt);
    for (const { entry, run } of this.runs) {
      if (!run.decided || entry.observe) continue;
      try {
        await run.decided(v, message);
      } catch (e) {
        this.deps.onFailOpen?.(entry.check.name, 'data', e);
      }
    }
    return v;
  }

  /** The transaction is over: forget its findings and facts. */
  reset(): void {
    this.txFindings = [];
    this.tx = emptyTx();
    this.profile = null;
    for (const { run } of this.runs) run.reset?.();
  }
}

/** The policy over the configured checks' symbols (and their TEMPFAIL symbols). */
export function createPolicy(checks: readonly CheckEntry[], config: PolicyConfig, outbound: { readonly [K in keyof Thresholds]?: Thresholds[K] | undefined } = {}): Policy {
  const late = (name: string): SymbolDef | undefined => {
    for (const e of checks) {
      const d = e.check.lookupSymbol?.(name);
      if (d) return d;
    }
    return undefined;
  };
  const symbols = checks.flatMap((e) => [...e.check.symbols, tempfailDef(e.check.name)]);
  return new Policy(config, symbols, outbound, late, checks.some((e) => e.check.symbolsPending === true));
}
