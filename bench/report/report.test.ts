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

  it('draws nice ticks and escapes text', () => {
    expect(niceStep(830)).toBe(200);
    expect(niceStep(0.9)).toBe(0.2);
    const svg = lineChart({ title: 'a < b & c', xLabel: 'x', yLabel: 'y', series: [{ name: '"q"', color: '#000', points: [[0, 1], [1, Number.NaN], [2, 3]] }] });
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('&quot;q&quot;');
    expect(svg).not.toContain('NaN');
  });
});
