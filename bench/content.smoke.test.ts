// Smoke test of the content benchmarks (bench:accuracy, bench:scan) on their --quick subset, Moat
// only (the anchors need minutes to learn): the split is loaded, Moat learns the train subset and
// scans the test subset, and the figures are counted from every test message. Bounds are loose on
// purpose (the quick subset is small); what it guards is that the harness and `moat learn`/`moat
// scan --json` still fit together. Needs `npm run build` (dist's Moat); installs the corpus on demand.
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { runScanSuite } from './accuracy/scan-suite.js';
import { QUICK_LIMITS, renderAccuracyMarkdown, runAccuracySuite } from './accuracy/suite.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

const log = (): void => undefined;

describe('content benchmarks, quick subset', () => {
  it('scores every test message of the subset and tells most spam from ham', async () => {
    const r = await runAccuracySuite({ quick: true, systems: ['moat'], concurrency: 2, log });
    expect(r.counts.test).toEqual(QUICK_LIMITS.test);
    expect(r.durationSec).toBeGreaterThan(0);
    const m = r.systems[0]?.metrics;
    expect(m).toBeDefined();
    if (!m) return;
    expect(m.tp + m.fn).toBe(QUICK_LIMITS.test.spam);
    expect(m.fp + m.tn).toBe(QUICK_LIMITS.test.ham);
    expect(m.recall).toBeGreaterThan(0.6);
    expect(m.fpr).toBeLessThan(0.05);
    expect(renderAccuracyMarkdown(r)).toMatch(/\| Moat [^|]+ \| \d+ \| \d+ \|/);
  }, 120_000);

  it('measures the scan rate over the whole subset', async () => {
    const r = await runScanSuite({ quick: true, systems: ['moat'], concurrency: 2, clamd: false, log });
    expect(r.systems.map((s) => s.system)).toEqual(['moat']);
    expect(r.durationSec).toBeGreaterThan(0);
    expect(r.systems[0]?.messages).toBe(QUICK_LIMITS.test.ham + QUICK_LIMITS.test.spam);
    expect(r.systems[0]?.messagesPerSecond).toBeGreaterThan(0);
  }, 120_000);
});
