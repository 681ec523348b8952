// `npm run bench:scan`: full-scan throughput on the test split (every message, all cores), Moat
// beside spamd and rspamd on the same files, each with its Bayes trained on the train split first
// (as in the accuracy suite: Bayes lookups are part of a real scan).
//  - Moat: `moat scan --json` over the test directories: worker threads, one per core; the wall
//    time of the whole command (start-up, reading the files, every content check, printing).
//  - spamd: N children, CHECK from N connections at once (spamassassin-system.ts).
//  - rspamd: one normal worker per core, /checkv2 from N connections at once (rspamd-system.ts).
// --messages N scans an evenly spread subset of the test split instead (SpamAssassin does 1-5 msg/s
// here, so a full split takes 10-40 minutes per run). Each system is scanned `repeats` times after its training; the table shows the median msg/s and
// Moat's ratio to each. --clamd: also Moat with clamd (test/harness/clamd.ts) as its antivirus, its
// runs interleaved with the plain ones.
// MOAT_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles Moat's scans (bench/profile-summary.ts).
// Fails: as the accuracy suite (a system that cannot start is skipped with its reason).
import { startClamd, stopAll } from '../../test/harness/index.js';
import { formatLoadSpan, loadAverage, machineInfo, type LoadSpan, type MachineInfo } from '../lib/machine.js';
import { moatNodeArgsFromEnv } from '../lib/options.js';
import { median } from '../lib/stats.js';
import { scanMoat, trainMoat, version as moatVersion, writeMoatConfig } from './moat-system.js';
import { rspamdVersion, scanRspamd, startRspamdWithBayes, trainRspamd } from './rspamd-system.js';
import { saVersion, scanSpamd, startSpamdWithBayes, trainSpamAssassin } from './spamassassin-system.js';
import { prepare, TEST_SPLIT, type AccuracySystem, type RowSource } from './suite.js';

export interface ScanOptions {
  readonly quick: boolean;
  readonly systems: readonly AccuracySystem[];
  readonly concurrency: number;
  readonly clamd: boolean;
  readonly log: (line: string) => void;
  readonly repeats?: number;
  /** Scan an evenly spread subset of the test split of about this many messages (default: all 3115). */
  readonly messages?: number;
}

export interface ScanSystemResult {
  readonly system: AccuracySystem;
  readonly version: string;
  readonly concurrency: string;
  readonly messages: number;
  readonly runs: readonly number[];
  readonly messagesPerSecond: number;
  /** 1-minute load average at the first scan's start and the last one's end; older results lack it. */
  readonly load?: LoadSpan;
}

export interface ScanReport {
  readonly suite: 'scan';
  readonly version: 1;
  readonly startedAt: string;
  /** Wall time of the whole suite; older results lack it. */
  readonly durationSec?: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly systems: readonly ScanSystemResult[];
  readonly skipped: readonly { readonly system: AccuracySystem; readonly reason: string }[];
  command?: string;
}

export async function runScanSuite(o: ScanOptions): Promise<ScanReport> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = machineInfo();
  const repeats = o.repeats ?? (o.quick ? 1 : 3);
  const { layout, dns } = await prepare(o.quick, o.log, o.messages);
  const n = layout.test.length;
  const nodeArgs = moatNodeArgsFromEnv();
  const systems: ScanSystemResult[] = [];
  const skipped: { system: AccuracySystem; reason: string }[] = [];
  const rate = (seconds: number[]): number[] => seconds.map((s) => n / s);
  for (const s of o.systems) {
    o.log(`system ${s}`);
    try {
      if (s === 'moat') {
        const config = await writeMoatConfig(layout.dir, dns);
        await trainMoat(layout, config, o.log);
        // With --clamd, Moat + clamd runs interleaved with the plain ones (A B A B), same learned store.
        const clamd = o.clamd ? await startClamd() : null;
        try {
          const withClamd = clamd ? await writeMoatConfig(layout.dir, dns, clamd.address) : null;
          const inputs = [layout.path('test', 'ham'), layout.path('test', 'spam')];
          const runs: number[] = [];
          const clamdRuns: number[] = [];
          const atStart = loadAverage();
          for (let i = 0; i < repeats; i++) {
            runs.push((await scanMoat(inputs, config, nodeArgs)).seconds);
            if (withClamd) clamdRuns.push((await scanMoat(inputs, withClamd, nodeArgs)).seconds);
          }
          const load = { atStart, atEnd: loadAverage() };
          const version = `Moat ${await moatVersion()}`;
          const concurrency = `moat scan: ${machine.nproc} worker threads`;
          systems.push({ system: s, version, concurrency, messages: n, runs: rate(runs), messagesPerSecond: median(rate(runs)), load });
          if (clamd) systems.push({ system: s, version: `${version} + clamd`, concurrency: `${concurrency}, clamd (test database)`, messages: n, runs: rate(clamdRuns), messagesPerSecond: median(rate(clamdRuns)), load });
        } finally {
          await clamd?.stop();
        }
      } else if (s === 'spamassassin') {
        await trainSpamAssassin(layout, o.log);
        const spamd = await startSpamdWithBayes(layout.dir, o.concurrency);
        try {
          const runs: number[] = [];
          const atStart = loadAverage();
          for (let i = 0; i < repeats; i++) runs.push((await scanSpamd(spamd, layout.test)).seconds);
          const load = { atStart, atEnd: loadAverage() };
          systems.push({ system: s, version: await saVersion(), concurrency: `${o.concurrency} children, ${o.concurrency} connections`, messages: n, runs: rate(runs), messagesPerSecond: median(rate(runs)), load });
        } finally {
          await spamd.stop();
        }
      } else {
        const r = await startRspamdWithBayes(layout.dir, dns, machine.nproc);
        try {
          await trainRspamd(r, layout, o.log);
          const runs: number[] = [];
          const atStart = loadAverage();
          for (let i = 0; i < repeats; i++) runs.push((await scanRspamd(r, layout.test, o.concurrency)).seconds);
          const load = { atStart, atEnd: loadAverage() };
          systems.push({ system: s, version: await rspamdVersion(), concurrency: `${machine.nproc} normal workers, ${o.concurrency} connections`, messages: n, runs: rate(runs), messagesPerSecond: median(rate(runs)), load });
        } finally {
          await r.stop();
        }
      }
      o.log(`${s}: ${systems.at(-1)?.messagesPerSecond.toFixed(1)} msg/s`);
    } catch (e) {
      if (s === 'moat') throw e;
      const reason = e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e);
      o.log(`${s} skipped: ${reason}`);
      skipped.push({ system: s, reason });
    }
  }
  await stopAll();
  return { suite: 'scan', version: 1, startedAt, durationSec: (performance.now() - t0) / 1000, quick: o.quick, machine, systems, skipped };
}

/**
 * The table of a report, as Markdown (also the docs section). With `sourceOf` (see the accuracy
 * suite's RowSource), each row says which run it comes from and how many messages it scanned, and
 * Moat's ratio is given only to a row of the same run.
 */
export function renderScanMarkdown(r: ScanReport, sourceOf?: (s: ScanSystemResult) => RowSource): string {
  const moat = r.systems.find((s) => s.system === 'moat');
  const split = TEST_SPLIT.ham + TEST_SPLIT.spam;
  const counts = [...new Set(r.systems.map((s) => s.messages))];
  const n = counts.length <= 1 ? (counts[0] ?? 0) : undefined;
  const what = n === undefined ? `${counts.join(' or ')} test messages (see each row; an evenly spread subset of the ${split} of the test split unless ${split})` : `${n} test messages${r.quick ? ' (quick subset)' : n < split ? ` (an evenly spread subset of the ${split} of the test split)` : ''}`;
  const ratio = (s: ScanSystemResult): string => {
    if (!moat || s.system === 'moat') return '';
    if (sourceOf !== undefined && sourceOf(moat).id !== sourceOf(s).id) return 'other run';
    return `×${(moat.messagesPerSecond / s.messagesPerSecond).toFixed(2)}`;
  };
  const extra = (s: ScanSystemResult): string[] => (sourceOf === undefined ? [] : [sourceOf(s).run, String(s.messages)]);
  const lines = [
    `Full scan of ${what}, Bayes trained first; ${r.startedAt.slice(0, 10)}, ${r.machine.nproc} cores (${r.machine.cpuModel}).`,
    '',
    `| system |${sourceOf === undefined ? '' : ' run | messages |'} parallelism | msg/s (median) | runs | load average (start–end of its scans) | Moat / system |`,
    `|---|${sourceOf === undefined ? '' : '---|---|'}---|---|---|---|---|`,
    ...r.systems.map((s) => `| ${[s.version, ...extra(s)].join(' | ')} | ${s.concurrency} | ${s.messagesPerSecond.toFixed(1)} | ${s.runs.map((x) => x.toFixed(1)).join(', ')} | ${formatLoadSpan(s.load)} | ${ratio(s)} |`),
    '',
    ...r.skipped.map((s) => `Skipped: ${s.system} (${s.reason}).\n`),
  ];
  return lines.join('\n');
}
