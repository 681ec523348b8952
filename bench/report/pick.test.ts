// Which results the content sections are made of (pick.ts, content-section.ts): each system from
// the newest full result that has it, so a later Moat-only accuracy or scan run replaces Moat's row
// and leaves the anchors' rows of the older three-system run in place, each dated by its run, with
// no speed ratio across runs; a --quick result never mixes with full ones; accuracy rows only from
// the newest result's split. Unit tests of the selection, then the sections through writeReport.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeScratchDir, removeAllScratchDirs } from '../../test/harness/index.js';
import { fullOrNewestQuick, pickNewestPerKey, sourcesOf } from './pick.js';
import type { Source } from './pick.js';
import { writeReport } from './write.js';

afterAll(removeAllScratchDirs);

interface R {
  readonly quick: boolean;
  readonly rows: readonly { readonly k: string; readonly v: number }[];
}
const src = (file: string, quick: boolean, ...rows: [string, number][]): Source<R> => ({ file, report: { quick, rows: rows.map(([k, v]) => ({ k, v })) } });

describe('pickNewestPerKey / fullOrNewestQuick', () => {
  it('takes each key from the newest result that has it, in the order first met', () => {
    const newest = src('c', false, ['moat', 3]);
    const older = src('b', false, ['moat', 2], ['sa', 20], ['rspamd', 200]);
    const oldest = src('a', false, ['sa', 10], ['extra', 1]);
    const p = pickNewestPerKey([newest, older, oldest], (r) => r.rows, (x) => x.k);
    expect(p.map((x) => [x.key, x.row.v, x.source.file])).toEqual([
      ['moat', 3, 'c'],
      ['sa', 20, 'b'],
      ['rspamd', 200, 'b'],
      ['extra', 1, 'a'],
    ]);
    expect(sourcesOf(p).map((s) => s.file)).toEqual(['c', 'b', 'a']);
  });

  it('keeps the first row of a key that one result has twice', () => {
    const p = pickNewestPerKey([src('a', false, ['moat', 1], ['moat', 2])], (r) => r.rows, (x) => x.k);
    expect(p.map((x) => x.row.v)).toEqual([1]);
  });

  it('drops quick results when a full one exists, else keeps only the newest quick one', () => {
    const q2 = src('q2', true, ['moat', 9]);
    const f1 = src('f1', false, ['moat', 1]);
    const q1 = src('q1', true, ['moat', 8]);
    expect(fullOrNewestQuick([q2, f1, q1]).map((s) => s.file)).toEqual(['f1']);
    expect(fullOrNewestQuick([q2, q1]).map((s) => s.file)).toEqual(['q2']);
    expect(fullOrNewestQuick<R>([])).toEqual([]);
  });
});

const machine = (loadAtStart: number) => ({ nproc: 2, cpuModel: 'Test CPU', memGiB: 4, kernel: '6.1', node: 'v20.0.0', postfix: '3.7.11', loadAtStart });
const metrics = (tp: number, fp: number) => ({ tp, fp, tn: 1000 - fp, fn: 100 - tp, fpr: fp / 1000, recall: tp / 100, precision: tp / (tp + fp), f1: 0.9, recallAtFpr: 0.8, thresholdAtFpr: 6, fprBound: 0.001 });
const accSystem = (system: string, version: string, tp: number, fp: number, rate: number) => ({ system, version, setup: `${version} setup`, trainSeconds: 1, scanSeconds: 1, messagesPerSecond: rate, metrics: metrics(tp, fp), falsePositives: [] });
type AccSystem = ReturnType<typeof accSystem>;
const split = { train: { ham: 10, spam: 10 }, test: { ham: 1000, spam: 100 } };
function accuracy(at: string, quick: boolean, load: number, systems: AccSystem[], args: string, counts = split) {
  return { suite: 'accuracy', version: 1, startedAt: `2026-12-01T${at}:00.000Z`, quick, machine: machine(load), counts, systems, skipped: [], command: `node dist/bench/run.js accuracy${args}` };
}
const scanRow = (system: string, version: string, messages: number, rate: number) => ({ system, version, concurrency: '2', messages, runs: [rate], messagesPerSecond: rate, load: { atStart: 1, atEnd: 2 } });
type ScanRow = ReturnType<typeof scanRow>;
function scan(at: string, systems: ScanRow[], args: string, durationSec?: number) {
  return { suite: 'scan', version: 1, startedAt: `2026-12-01T${at}:00.000Z`, ...(durationSec === undefined ? {} : { durationSec }), quick: false, machine: machine(4), systems, skipped: [], command: `node dist/bench/run.js scan${args}` };
}

async function project(files: Record<string, unknown>): Promise<string> {
  const root = await makeScratchDir('moat-report-pick-');
  const out = join(root, 'bench', 'out');
  await mkdir(out, { recursive: true });
  for (const [name, body] of Object.entries(files)) await writeFile(join(out, name), JSON.stringify(body));
  return readFile((await writeReport({ root })).markdownFile, 'utf8');
}

describe('content sections from several results', () => {
  it('a later Moat-only accuracy run replaces Moat only; each row dated; no speed ratio across runs', async () => {
    const md = await project({
      'accuracy-2026-12-01T10-00-00-000Z.json': accuracy('10:00', false, 14, [accSystem('moat', 'Moat 0.1.0', 90, 4, 37), accSystem('spamassassin', 'SpamAssassin 4.0.1', 95, 14, 1), accSystem('rspamd', 'Rspamd 3.4', 96, 159, 63)], ''),
      'accuracy-2026-12-01T12-00-00-000Z.json': accuracy('12:00', false, 3, [accSystem('moat', 'Moat 0.2.0', 98, 2, 40)], ' --systems moat'),
      'accuracy-2026-12-01T13-00-00-000Z.json': accuracy('13:00', true, 2, [accSystem('moat', 'Moat 0.3.0', 50, 0, 99)], ' --quick'),
    });
    const section = md.slice(md.indexOf('## Content verdicts: accuracy'));
    expect(section).toContain('| system | run | TP | FP |');
    expect(section).toMatch(/\| Moat 0\.2\.0 \| 2026-12-01 12:00 UTC \| 98 \| 2 \|/);
    expect(section).toMatch(/\| SpamAssassin 4\.0\.1 \| 2026-12-01 10:00 UTC \| 95 \| 14 \|/);
    expect(section).toMatch(/\| Rspamd 3\.4 \| 2026-12-01 10:00 UTC \| 96 \| 159 \|/);
    expect(section).not.toContain('Moat 0.1.0');
    expect(section).not.toContain('Moat 0.3.0');
    expect(section).not.toContain('--quick');
    // both runs named with their file, rows, load and command
    expect(section).toContain('- 2026-12-01 12:00 UTC, `bench/out/accuracy-2026-12-01T12-00-00-000Z.json`: Moat 0.2.0; load average 3 at the start; `node dist/bench/run.js accuracy --systems moat`');
    expect(section).toContain('- 2026-12-01 10:00 UTC, `bench/out/accuracy-2026-12-01T10-00-00-000Z.json`: SpamAssassin 4.0.1, Rspamd 3.4; load average 14 at the start; `node dist/bench/run.js accuracy`');
    // verdict ratios across runs (load does not change a verdict), no speed ratio: FPR 0.002 / 0.014
    expect(section).toContain('Moat / spamassassin: FPR ×0.14, spam recall ×1.03, recall at FPR ≤ 0.1% ×1.00, F1 ×1.00, scan speed: no ratio (not measured in the same run).');
  });

  it('accuracy rows only from the newest result split', async () => {
    const other = { train: { ham: 10, spam: 10 }, test: { ham: 500, spam: 50 } };
    const md = await project({
      'accuracy-2026-12-01T10-00-00-000Z.json': accuracy('10:00', false, 5, [accSystem('spamassassin', 'SpamAssassin 4.0.1', 45, 3, 1)], ' --systems spamassassin', other),
      'accuracy-2026-12-01T12-00-00-000Z.json': accuracy('12:00', false, 3, [accSystem('moat', 'Moat 0.2.0', 98, 2, 40)], ' --systems moat'),
    });
    expect(md).not.toContain('| system | run |');
    expect(md).not.toMatch(/\| SpamAssassin 4\.0\.1 \|/);
    expect(md).toContain('Not shown: SpamAssassin 4.0.1, measured only on another split (`bench/out/accuracy-2026-12-01T10-00-00-000Z.json`).');
  });

  it('a later Moat-only scan replaces plain Moat only, keeps Moat + clamd and the anchors, ratios only within a run', async () => {
    const md = await project({
      'scan-2026-12-01T10-00-00-000Z.json': scan('10:00', [scanRow('moat', 'Moat 0.1.0', 600, 46), scanRow('moat', 'Moat 0.1.0 + clamd', 600, 41), scanRow('spamassassin', 'SpamAssassin 4.0.1', 600, 4.6), scanRow('rspamd', 'Rspamd 3.4', 600, 78.5)], ' --clamd --messages 600', 612.4),
      'scan-2026-12-01T12-00-00-000Z.json': scan('12:00', [scanRow('moat', 'Moat 0.2.0', 3115, 120)], ' --systems moat'),
    });
    const section = md.slice(md.indexOf('## Content verdicts: full-scan throughput'));
    expect(section).toContain('Full scan of 3115 or 600 test messages (see each row');
    // the run's wall time when the result has it
    expect(section).toContain('- 2026-12-01 10:00 UTC (612 s), `bench/out/scan-2026-12-01T10-00-00-000Z.json`: Moat 0.1.0 + clamd, SpamAssassin 4.0.1, Rspamd 3.4; load average 4 at the start;');
    expect(section).toContain('- 2026-12-01 12:00 UTC, `bench/out/scan-2026-12-01T12-00-00-000Z.json`: Moat 0.2.0;');
    expect(section).toMatch(/\| Moat 0\.2\.0 \| 2026-12-01 12:00 UTC \| 3115 \| 2 \| 120\.0 \|/);
    expect(section).toMatch(/\| Moat 0\.1\.0 \+ clamd \| 2026-12-01 10:00 UTC \| 600 \| 2 \| 41\.0 \|/);
    expect(section).toMatch(/\| SpamAssassin 4\.0\.1 \| 2026-12-01 10:00 UTC \| 600 \| 2 \| 4\.6 \| 4\.6 \| 1\.0–2\.0 \| other run \|/);
    expect(section).toMatch(/\| Rspamd 3\.4 \| 2026-12-01 10:00 UTC \| 600 \| .* \| other run \|/);
    expect(section).not.toMatch(/\| Moat 0\.1\.0 \| /);
    expect(section).not.toContain('×');
  });
});
