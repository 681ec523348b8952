/**
 * Runs the checks of one phase in order and folds their findings into a verdict. A hard reject from
 * any check wins; a check that throws counts as a temporary failure (CONVENTIONS.md 6: fail toward 4xx).
 */
import type { Check, CheckRun, Finding, SessionInfo, Verdict } from './types.js';

export type Phase = 'connect' | 'helo' | 'mailFrom' | 'rcptTo';

export class PipelineSession {
  private readonly runs: { name: string; run: CheckRun }[];

  constructor(checks: readonly Check[], session: SessionInfo) {
    this.runs = checks.map((c) => ({ name: c.name, run: c.open(session) }));
  }

  async phase(phase: Phase, call: (run: CheckRun, signal: AbortSignal) => Promise<Finding[]> | undefined, signal: AbortSignal): Promise<Verdict> {
    const findings: Finding[] = [];
    for (const { name, run } of this.runs) {
      let found: Finding[] | undefined;
      try {
        found = await call(run, signal);
      } catch (e) {
        const because: Finding = { symbol: `${name.toUpperCase().replace(/-/g, '_')}_TEMPFAIL`, detail: `${phase}: ${e instanceof Error ? e.message : String(e)}`, hardAction: 'defer' };
        return { action: 'defer', findings: [...findings, because], because };
      }
      if (!found) continue;
      findings.push(...found);
      const hard = found.find((f) => f.hardAction === 'reject') ?? found.find((f) => f.hardAction === 'defer');
      if (hard) return { action: hard.hardAction === 'reject' ? 'reject' : 'defer', findings, because: hard };
    }
    return { action: 'accept', findings };
  }
}
