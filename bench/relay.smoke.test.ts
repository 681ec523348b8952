// Smoke test of the relay benchmark in --quick mode: every message reaches the sink through each
// gateway and every figure is a positive number. No timing thresholds: on two noisy cores only
// counts and signs are stable. Needs `npm run build` (it starts dist's Moat; `npm test` builds
// first). Postfix joins when running as root; Haraka joins when it can be installed into the
// bench cache (the first run installs it; offline, the report must say why it was skipped).
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { QUICK_PRESET } from './relay/options.js';
import { canRunPostfix } from './relay/postfix-gateway.js';
import { runRelaySuite } from './relay/suite.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('relay benchmark --quick', () => {
  it('delivers every message through each gateway and reports positive figures', async () => {
    const asked = canRunPostfix() ? QUICK_PRESET.systems : QUICK_PRESET.systems.filter((s) => s !== 'postfix');
    const report = await runRelaySuite({ ...QUICK_PRESET, systems: asked });

    // Haraka is the only system the suite may skip, and only with a reason
    for (const s of report.skipped) {
      expect(s.system).toBe('haraka');
      expect(s.reason).not.toBe('');
    }
    expect([...report.systems, ...report.skipped.map((s) => s.system)].sort()).toEqual([...asked].sort());
    // one run per system and connection mode (new connection per message, reused connections)
    const pairs = report.runs.map((r) => `${r.system}/${r.mode}`).sort();
    expect(pairs).toEqual(report.systems.flatMap((s) => QUICK_PRESET.modes.map((m) => `${s}/${m}`)).sort());
    for (const r of report.runs) {
      // counted by smtp-source: every message got its end-of-data 250
      expect(r.accepted).toBe(QUICK_PRESET.messages);
      // counted at the sink: every message smtp-source sent came out of the gateway
      expect(r.delivered).toBe(QUICK_PRESET.messages);
      expect(r.acceptedPerSec).toBeGreaterThan(0);
      expect(r.latency?.accepted).toBe(QUICK_PRESET.latencyMessages);
      expect(r.deliveredPerSec).toBeGreaterThan(0);
      expect(r.cpuMsPerMessage).toBeGreaterThan(0);
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(r.latency?.p50Ms).toBeGreaterThan(0);
      expect(r.latency?.p99Ms).toBeGreaterThanOrEqual(r.latency?.p50Ms ?? Number.POSITIVE_INFINITY);
    }
    for (const s of report.summary) {
      for (const name of report.systems) {
        for (const v of Object.values(s.bySystem[name] ?? {})) expect(v).toBeGreaterThan(0);
      }
    }
  }, 120_000);
});
