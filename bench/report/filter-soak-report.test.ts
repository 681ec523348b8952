// The report writer with filter and soak results: from made-up results in a scratch project it
// writes the filter section (setups, tables with Moat's ratios to both anchors, verdicts, three bar
// charts; failed apart from unsent) and the soak section (failed apart from unsent, lost, drain,
// RSS early/late, the RSS plot), and refuses a result of another format (or an older soak result)
// with the command to re-run; an older filter result is read only when it failed nothing.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeScratchDir, removeAllScratchDirs } from '../../test/harness/index.js';
import type { FilterRun } from '../filter/measure.js';
import { FILTER_QUICK_PRESET } from '../filter/options.js';
import type { FilterSystem } from '../filter/options.js';
import type { FilterReport } from '../filter/suite.js';
import { summarizeFilter } from '../filter/summary.js';
import { SOAK_QUICK_PRESET } from '../soak/options.js';
import type { SoakReport } from '../soak/suite.js';
import { writeReport } from './write.js';

afterAll(removeAllScratchDirs);

const machine = { nproc: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v20.0.0', postfix: '3.7.11' };

function filterRun(system: FilterSystem, repeat: number, perSec: number, lossy = false): FilterRun {
  const base: FilterRun = {
    mix: 'synthetic',
    sessions: 10,
    system,
    repeat,
    messages: 30,
    accepted: 28,
    rejected: 2,
    failed: 0,
    unsent: 0,
    cutOff: 0,
    errors: [],
    delivered: 28,
    loadSec: 30 / perSec,
    elapsedSec: 30 / perSec,
    acceptedPerSec: perSec,
    deliveredPerSec: perSec,
    p50Ms: 1000 / perSec,
    p99Ms: 3000 / perSec,
    cpuSec: 1,
    cpuMsPerMessage: 1000 / perSec,
    peakRssBytes: 300 * 2 ** 20,
    peakPssBytes: 200 * 2 ** 20,
    processesAtPeak: 5,
    rssSeries: [[0, 300]],
  };
  // 30 = 25 accepted + 2 refused + 1 failed + 2 unsent (1 of them cut off in flight)
  return lossy ? { ...base, accepted: 25, delivered: 25, failed: 1, unsent: 2, cutOff: 1, errors: ['end of data: 451 4.3.0 try later'] } : base;
}

function filterFixture(): FilterReport {
  const systems: FilterSystem[] = ['moat', 'postfix-sa', 'postfix-rspamd'];
  const runs = [1, 2].flatMap((rep) => [filterRun('moat', rep, 40, rep === 2), filterRun('postfix-sa', rep, 2), filterRun('postfix-rspamd', rep, 50)]);
  const { log: _log, ...options } = FILTER_QUICK_PRESET;
  return {
    suite: 'filter',
    startedAt: '2026-12-01T08:00:00.000Z',
    durationSec: 40,
    machine,
    command: 'node dist/bench/run.js filter --quick',
    options,
    systems,
    skipped: [],
    moatChecks: { enabled: ['rules'], absent: ['bayes'], refused: [] },
    setups: { moat: { components: ['Moat'], notes: ['default checks'] }, 'postfix-sa': { components: ['Postfix', 'spamd'], notes: ['milters'] }, 'postfix-rspamd': { components: ['Postfix', 'Rspamd'], notes: ['milter'] } },
    mixes: [{ name: 'synthetic', messages: 15, viruses: 1, meanOctets: 5300, groups: {} }],
    runs,
    summary: summarizeFilter(runs, [{ mix: 'synthetic', sessions: 10 }], systems),
  };
}

function soakFixture(): SoakReport {
  const { log: _log, ...options } = SOAK_QUICK_PRESET;
  return {
    suite: 'soak',
    startedAt: '2026-12-01T09:00:00.000Z',
    durationSec: 40,
    machine,
    command: 'node dist/bench/run.js soak --quick',
    options,
    offered: 300,
    accepted: 290,
    failed: 2,
    unsent: 8,
    cutOff: 3,
    errors: ['connection closed', 'connection closed'],
    delivered: 290,
    lost: 0,
    lostIds: [],
    duplicates: 1,
    deliveredUnconfirmed: 0,
    flaps: [
      { downAt: 10, upAt: 14 },
      { downAt: 20, upAt: 24 },
    ],
    drainSec: 1.5,
    loadSec: 30,
    achievedPerSec: 10,
    p50Ms: 9,
    p99Ms: 90,
    rss: { series: Array.from({ length: 30 }, (_, i) => [i, 300 + (i % 3)] as const), earlyMiB: 301, lateMiB: 302, peakMiB: 303, peakPssMiB: 200 },
  };
}

describe('report writer: filter and soak', () => {
  it('writes both sections with their figures and plots', async () => {
    const root = await makeScratchDir('moat-report-fs-');
    const out = join(root, 'bench', 'out');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'filter-2026-12-01T08-00-00-000Z.json'), JSON.stringify(filterFixture()));
    await writeFile(join(out, 'soak-2026-12-01T09-00-00-000Z.json'), JSON.stringify(soakFixture()));
    const w = await writeReport({ root });
    const md = await readFile(w.markdownFile, 'utf8');
    expect(md).toContain('## Filter:');
    expect(md).toContain('node dist/bench/run.js filter --quick');
    // Moat 40 msg/s against 2 and 50: ratios 20 and 0.8
    expect(md).toMatch(/\| synthetic \| 10 \| delivered msg\/s \(higher is better\) \| 40\.0 \| 2\.00 \| 50\.0 \| 20\.0 \| 0\.80 \|/);
    expect(md).toContain('| synthetic | 10 | Postfix+SpamAssassin | 56 | 4 | 0 | 0 / 0 | 2 |');
    // failed apart from unsent / cut off, summed over the repeats
    expect(md).toContain('| synthetic | 10 | Moat | 53 | 4 | 1 | 2 / 1 | 2 |');
    expect(md).toContain('enabled rules; not in this version: bayes');
    expect(md).toContain('## Soak:');
    expect(md).toMatch(/\| \*\*lost\*\* .* \| \*\*0\*\* \|/);
    // failed and unsent (the time bound) apart
    expect(md).toContain('| offered / accepted (250) | 300 / 290 |');
    expect(md).toMatch(/\| failed \(an SMTP error reply, .*\) \| 2 \|/);
    expect(md).toMatch(/\| unsent: .* \| 8 \/ 3 \|/);
    expect(md).toContain('| RSS floor (lowest sample) in the 2nd fifth / the last fifth, MiB | 300 / 300 |');
    expect(md).toContain('| duplicates (extra copies) / delivered without a 250 to the client | 1 / 0 |');
    for (const svg of ['filter-delivered.svg', 'filter-latency.svg', 'filter-cpu.svg', 'soak-rss.svg']) {
      expect(md).toContain(`bench/${svg}`);
      expect(existsSync(join(root, 'docs', 'bench', svg))).toBe(true);
    }
    expect(await readFile(join(root, 'docs', 'bench', 'soak-rss.svg'), 'utf8')).toContain('sink down at (s): 10–14, 20–24');
  });

  it('refuses a soak result of another format with the command to re-run', async () => {
    const root = await makeScratchDir('moat-report-fs-');
    const out = join(root, 'bench', 'out');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'soak-2026-12-01T09-00-00-000Z.json'), JSON.stringify({ suite: 'soak', accepted: 3 }));
    await expect(writeReport({ root })).rejects.toThrow(/node dist\/bench\/run\.js soak/);
    // an older soak result, which lumped the unsent messages in with the failed ones
    const { unsent: _u, cutOff: _c, ...older } = soakFixture();
    await writeFile(join(out, 'soak-2026-12-01T09-00-00-000Z.json'), JSON.stringify(older));
    await expect(writeReport({ root })).rejects.toThrow(/not a soak report of this bench version/);
  });

  it('reads an older filter result (failed included unsent) only when it failed nothing', async () => {
    const root = await makeScratchDir('moat-report-fs-');
    const out = join(root, 'bench', 'out');
    await mkdir(out, { recursive: true });
    const older = (failed: number): unknown => {
      const r = filterFixture();
      const strip = <T extends { unsent: number; cutOff: number }>({ unsent: _u, cutOff: _c, ...rest }: T): Omit<T, 'unsent' | 'cutOff'> => rest;
      const runs = r.runs.map((x) => ({ ...strip(x), accepted: x.accepted + x.failed + x.unsent - failed, failed }));
      const summary = r.summary.map((p) => ({ ...p, verdicts: Object.fromEntries(Object.entries(p.verdicts).map(([k, v]) => [k, { ...strip(v), failed }])) }));
      return { ...r, runs, summary };
    };
    const file = join(out, 'filter-2026-12-01T08-00-00-000Z.json');
    await writeFile(file, JSON.stringify(older(0)));
    const md = await readFile((await writeReport({ root })).markdownFile, 'utf8');
    expect(md).toContain('| synthetic | 10 | Postfix+SpamAssassin | 56 | 4 | 0 | 0 / 0 | 2 |');
    await writeFile(file, JSON.stringify(older(3)));
    await expect(writeReport({ root })).rejects.toThrow(/before unsent was counted apart from failed.*node dist\/bench\/run\.js filter/);
  });
});
