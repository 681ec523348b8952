// Smoke test of the soak benchmark in --quick mode (30 s at 10 msg/s, the sink stopped twice for
// 4 s): Moat accepts every message while its downstream is down, the sink really went down and came
// back on the same port, and after the drain every accepted message is in the sink's dumps, by its
// own Message-ID (zero lost). No memory threshold: 30 s on two noisy cores says nothing about a
// leak; the RSS series only has to exist and be positive. Needs `npm run build` (dist's Moat).
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { SOAK_QUICK_PRESET } from './soak/options.js';
import { runSoakSuite } from './soak/suite.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('soak benchmark --quick', () => {
  it('loses no accepted message while the downstream flaps', async () => {
    const o = SOAK_QUICK_PRESET;
    const r = await runSoakSuite(o);
    expect(r.offered).toBe(o.ratePerSec * o.durationSec);
    expect(r.failed).toBe(0);
    expect(r.unsent).toBe(0);
    expect(r.accepted).toBe(r.offered);
    // the sink went down (durationSec / flapEverySec - 1 times: the last period ends with the load) and came back
    expect(r.flaps.length).toBe(Math.ceil(o.durationSec / o.flapEverySec) - 1);
    for (const f of r.flaps) expect(f.upAt - f.downAt).toBeGreaterThanOrEqual(o.downSec);
    expect(r.lost).toBe(0);
    expect(r.lostIds).toEqual([]);
    expect(r.delivered).toBe(r.accepted);
    expect(Number.isFinite(r.drainSec)).toBe(true);
    expect(r.rss.series.length).toBeGreaterThanOrEqual(o.durationSec / o.sampleEverySec / 2);
    for (const [, mib] of r.rss.series) expect(mib).toBeGreaterThan(0);
    expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
  }, 180_000);
});
