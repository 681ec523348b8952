// Smoke test of the filter benchmark in --quick mode: through each system (Moat, and as root
// Postfix + SpamAssassin and Postfix + Rspamd), every message got a verdict, every EICAR copy was
// refused at the end of data, every accepted message reached that system's sink, and every figure
// is a positive number. No timing thresholds: on two noisy cores only counts and signs are
// stable. Needs `npm run build` (it starts dist's Moat; `npm test` builds first). Without root, or
// without the milter packages (bench/lib/debian-packages.ts installs them as root), the Postfix
// setups must be skipped with their reason.
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { FILTER_QUICK_PRESET } from './filter/options.js';
import { runFilterSuite } from './filter/suite.js';
import { canRunPostfix } from './relay/postfix-gateway.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('filter benchmark --quick', () => {
  it('gives every message a verdict, refuses every virus and delivers every accepted message', async () => {
    const report = await runFilterSuite(FILTER_QUICK_PRESET);
    const o = FILTER_QUICK_PRESET;
    expect([...report.systems, ...report.skipped.map((s) => s.system)].sort()).toEqual([...o.systems].sort());
    expect(report.systems).toContain('moat');
    for (const s of report.skipped) expect(s.reason).not.toBe('');
    if (canRunPostfix()) expect(report.skipped.map((s) => s.system)).not.toContain('postfix-rspamd');

    const mix = report.mixes.find((m) => m.name === 'synthetic');
    expect(mix?.viruses).toBeGreaterThan(0);
    const virusesPerRun = Math.floor(o.messages / (mix?.messages ?? 1)) * (mix?.viruses ?? 0);
    // one run per system and point
    expect(report.runs.map((r) => r.system).sort()).toEqual([...report.systems].sort());
    for (const r of report.runs) {
      expect(r.failed).toBe(0);
      // nothing left by the run's time bound, counted apart from failed
      expect([r.unsent, r.cutOff]).toEqual([0, 0]);
      expect(r.accepted + r.rejected + r.failed + r.unsent).toBe(o.messages);
      // the synthetic messages pass SPF, DKIM and DMARC and score low: only the EICAR copies are refused
      expect(r.rejected).toBe(virusesPerRun);
      // counted at the sink: every accepted message came out of the gateway, nothing else did
      expect(r.delivered).toBe(r.accepted);
      for (const v of [r.acceptedPerSec, r.deliveredPerSec, r.p50Ms, r.cpuMsPerMessage, r.peakRssBytes, r.peakPssBytes]) expect(v).toBeGreaterThan(0);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    }
    // the verdicts add the same counts up, unsent apart from failed
    for (const p of report.summary) for (const s of report.systems) expect(p.verdicts[s]).toMatchObject({ failed: 0, unsent: 0, cutOff: 0, runs: 1 });
    // every optional content check is either measured or absent from this version's schema
    expect(report.moatChecks.refused).toEqual([]);
    expect(report.moatChecks.enabled.length + report.moatChecks.absent.length).toBeGreaterThan(0);
  }, 300_000);
});
