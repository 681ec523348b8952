// The report writer: from the newest relay result in a scratch project it writes benchmarks.md
// with the tables, ratios and links to plots that exist, removes stale plots, and refuses a result
// of an older bench version. Also the SVG helpers' tick steps and escaping.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeScratchDir, removeAllScratchDirs } from '../../test/harness/index.js';
import type { ConnectionMode, SystemName } from '../relay/gateway.js';
import type { RunFigures } from '../relay/measure.js';
import type { RelayReport } from '../relay/suite.js';
import { summarize } from '../relay/summary.js';
import { lineChart, niceStep } from './svg.js';
import { writeReport } from './write.js';

afterAll(removeAllScratchDirs);

function run(system: SystemName, mode: ConnectionMode, sessions: number, repeat: number, perSec: number): RunFigures {
  return {
    system,
    size: 5120,
    sessions,
    mode,
    repeat,
    messages: 100,
    accepted: 100,
    acceptedPerSec: perSec * 1.1,
    delivered: 100,
    elapsedSec: 100 / perSec,
    acceptSec: 100 / (perSec * 1.1),
    deliveredPerSec: perSec,
    cpuSec: 0.5,
    cpuMsPerMessage: 5,
    peakRssBytes: 200 * 2 ** 20,
    processesAtPeak: 3,
    peakPssBytes: 100 * 2 ** 20,
    rssSeries: [
      [0, 190],
      [0.1, 200],
    ],
    latency: { messages: 50, accepted: 50, p50Ms: 10, p99Ms: 30, maxMs: 40, deliveredPerSec: perSec },
  };
}

function fixture(): RelayReport {
  const systems: SystemName[] = ['moat', 'postfix'];
  const runs = [1, 2, 3].flatMap((rep) =>
    (['new', 'reuse'] as const).flatMap((mode) => [20, 100].flatMap((s) => [run('moat', mode, s, rep, 300 + rep), run('postfix', mode, s, rep, 200 + rep)])),
  );
  const points = (['new', 'reuse'] as const).flatMap((mode) => [20, 100].map((sessions) => ({ size: 5120, sessions, mode })));
  return {
    suite: 'relay',
    startedAt: '2026-12-01T07:00:00.000Z',
    durationSec: 60,
    machine: { nproc: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v20.0.0', postfix: '3.7.11' },
    command: 'node dist/bench/run.js relay --repeats 3',
    options: { systems, sizes: [5120], sessions: [20, 100], modes: ['new', 'reuse'], messages: 100, latencyMessages: 50, repeats: 3, warmupMessages: 10, runTimeoutMs: 10_000 },
    systems,
    skipped: [{ system: 'haraka', reason: 'npm ci failed: offline' }],
    runs,
    summary: summarize(runs, points, systems),
  };
}

describe('bench report', () => {
  it('writes the tables with ratios, links only plots it wrote, and drops stale plots', async () => {
    const root = await makeScratchDir('moat-bench-report-');
    await mkdir(join(root, 'bench', 'out'), { recursive: true });
    await mkdir(join(root, 'docs', 'bench'), { recursive: true });
    await writeFile(join(root, 'docs', 'bench', 'stale.svg'), '<svg/>');
    await writeFile(join(root, 'bench', 'out', 'relay-2026-11-01T00-00-00-000Z.json'), '{"suite":"relay"}');
    await writeFile(join(root, 'bench', 'out', 'relay-2026-12-01T07-00-00-000Z.json'), JSON.stringify(fixture()));
    await writeFile(join(root, 'bench', 'report-notes.md'), '## Notes\n\nhand-written\n');

    const w = await writeReport({ root });
    const md = await readFile(w.markdownFile, 'utf8');
    expect(md).toContain('node dist/bench/run.js relay --repeats 3');
    expect(md).toContain('Test CPU');
    expect(md).toContain('**Haraka skipped:** npm ci failed: offline');
    // medians 302 and 202 (three repeats), ratio 1.50
    expect(md).toMatch(/\| 5 KB \| 20 \| delivered msg\/s \(higher is better\) \| 302 \| 202 \| 1\.50 \|/);
    expect(md).toContain('### Reused connections');
    expect(md).toContain('hand-written');
    const links = [...md.matchAll(/\]\(bench\/([^)]+\.svg)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThanOrEqual(5);
    for (const l of links) expect(existsSync(join(root, 'docs', 'bench', l))).toBe(true);
    expect(existsSync(join(root, 'docs', 'bench', 'stale.svg'))).toBe(false);
  });

  it('refuses a newest result of an older bench version, naming the fix', async () => {
    const root = await makeScratchDir('moat-bench-report-');
    await mkdir(join(root, 'bench', 'out'), { recursive: true });
    await writeFile(join(root, 'bench', 'out', 'relay-2026-12-02T00-00-00-000Z.json'), JSON.stringify({ suite: 'relay', runs: [{}] }));
    await expect(writeReport({ root })).rejects.toThrow(/re-run/);
  });

  it('adds the accuracy and scan sections from their newest full results, a --quick run not replacing a full one', async () => {
    const root = await makeScratchDir('moat-bench-report-');
    const out = join(root, 'bench', 'out');
    await mkdir(out, { recursive: true });
    const machine = { nproc: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v20.0.0', postfix: '3.7.11', loadAtStart: 3 };
    const m = (tp: number, fp: number) => ({ tp, fp, tn: 1000 - fp, fn: 100 - tp, fpr: fp / 1000, recall: tp / 100, precision: tp / (tp + fp), f1: 0.9, recallAtFpr: 0.8, thresholdAtFpr: 6, fprBound: 0.001 });
    const sys = (system: string, version: string, tp: number, fp: number, rate: number) => ({ system, version, setup: `${version} setup`, trainSeconds: 1, scanSeconds: 1, messagesPerSecond: rate, metrics: m(tp, fp), falsePositives: [] });
    const accuracy = (quick: boolean, tp: number) => ({ suite: 'accuracy', version: 1, startedAt: '2026-12-01T10:00:00.000Z', quick, machine, counts: { train: { ham: 10, spam: 10 }, test: { ham: 1000, spam: 100 } }, systems: [sys('moat', 'Moat 0.1.0', tp, 1, 300), sys('spamassassin', 'SpamAssassin 4.0.1', 90, 5, 16)], skipped: [], command: `node dist/bench/run.js accuracy${quick ? ' --quick' : ''}` });
    await writeFile(join(out, 'accuracy-2026-12-01T10-00-00-000Z.json'), JSON.stringify(accuracy(false, 97)));
    await writeFile(join(out, 'accuracy-2026-12-01T11-00-00-000Z.json'), JSON.stringify(accuracy(true, 50)));
    const scanRun = (system: string, version: string, rate: number) => ({ system, version, concurrency: '2', messages: 1100, runs: [rate], messagesPerSecond: rate, load: { atStart: 1.2, atEnd: 3.45 } });
    await writeFile(
      join(out, 'scan-2026-12-01T10-00-00-000Z.json'),
      JSON.stringify({ suite: 'scan', version: 1, startedAt: '2026-12-01T10:00:00.000Z', quick: false, machine, systems: [scanRun('moat', 'Moat 0.1.0', 320), scanRun('rspamd', 'Rspamd 3.4', 80)], skipped: [], command: 'node dist/bench/run.js scan' }),
    );
    const md = await readFile((await writeReport({ root })).markdownFile, 'utf8');
    expect(md).toContain('## Content verdicts: accuracy');
    expect(md).toContain('node dist/bench/run.js accuracy\n');
    expect(md).toContain('**Machine:** 2 CPUs (Test CPU), 4 GiB RAM');
    expect(md).not.toContain('accuracy --quick');
    expect(md).toMatch(/\| Moat 0\.1\.0 \| 97 \| 1 \|/);
    expect(md).toContain('## Content verdicts: full-scan throughput');
    // each rate beside the load of its own turn; a result without it says so
    expect(md).toMatch(/\| Rspamd 3\.4 \| 2 \| 80\.0 \| 80\.0 \| 1\.2–3\.5 \| ×4\.00 \|/);
    expect(md).toMatch(/\| Moat 0\.1\.0 \| 97 \| .* \| 300\.0 \| not recorded \|/);
  });

  it('draws nice ticks and escapes text', () => {
    expect(niceStep(830)).toBe(200);
    expect(niceStep(0.9)).toBe(0.2);
    const svg = lineChart({ title: 'a < b & c', xLabel: 'x', yLabel: 'y', series: [{ name: '"q"', color: '#000', points: [[0, 1], [1, Number.NaN], [2, 3]] }] });
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('&quot;q&quot;');
    expect(svg).not.toContain('NaN');
  });
});
