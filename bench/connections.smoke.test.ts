// Smoke test of the connections benchmark with a small load: every gateway holds every idle
// session, serves every legitimate session to its 250 (delivered to the sink, or the suite
// throws) while the slow clients trickle, and reports memory read from /proc. No timing or
// memory thresholds: on two noisy cores only counts are stable. Needs `npm run build` (dist's
// Moat); Postfix joins as root; Haraka when it can be installed (else skipped with a reason).
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { CONNECTIONS_QUICK_PRESET } from './connections/options.js';
import { runConnectionsSuite } from './connections/suite.js';
import { canRunPostfix } from './relay/postfix-gateway.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('connections benchmark, small load', () => {
  it('holds every idle session and still serves the legitimate ones', async () => {
    const systems = canRunPostfix() ? CONNECTIONS_QUICK_PRESET.systems : CONNECTIONS_QUICK_PRESET.systems.filter((s) => s !== 'postfix');
    const o = { ...CONNECTIONS_QUICK_PRESET, systems, idleSessions: 100, slowClients: 10, slowSeconds: 2, legitSessions: 2 };
    const report = await runConnectionsSuite(o);

    for (const s of report.skipped) {
      expect(s.system).toBe('haraka');
      expect(s.reason).not.toBe('');
    }
    expect([...report.systems, ...report.skipped.map((s) => s.system)].sort()).toEqual([...systems].sort());
    expect(report.runs.map((r) => r.system).sort()).toEqual([...report.systems].sort());
    for (const r of report.runs) {
      expect(r.opened, `${r.system}: ${r.openErrors.join('; ')}`).toBe(o.idleSessions);
      expect(r.legitOk, `${r.system}: ${r.legitErrors.join('; ')}`).toBe(o.legitSessions);
      expect(r.slowConnected).toBe(o.slowClients);
      expect(r.baseline.pssBytes).toBeGreaterThan(0);
      expect(r.idle.pssBytes).toBeGreaterThan(0);
      expect(r.idle.processes).toBeGreaterThanOrEqual(r.baseline.processes);
      expect(Number.isFinite(r.pssPerSessionKiB)).toBe(true);
      expect(r.legitP50Ms).toBeGreaterThan(0);
    }
    // Postfix serves each session with its own smtpd process
    const pf = report.runs.find((r) => r.system === 'postfix');
    if (pf !== undefined) expect(pf.idle.processes).toBeGreaterThan(o.idleSessions);
  }, 120_000);
});
