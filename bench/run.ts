// Benchmark entry point (after `npm run build`):
//   node dist/bench/run.js relay [options]   one suite (see README.md): progress on stderr, the
//                                            Markdown table on stdout, the full report as JSON
//                                            under bench/out/ (or --out FILE)
//   node dist/bench/run.js connections [options]   idle sessions, slow clients, a legitimate session
//   node dist/bench/run.js filter [options]  full filtering: Moat, Postfix+SpamAssassin, Postfix+Rspamd
//   node dist/bench/run.js soak [options]    a steady rate into Moat with the downstream flapping
//   node dist/bench/run.js scale [options]   one Moat node (SQLite) vs one and two on Redis + PostgreSQL
//   node dist/bench/run.js report            docs/benchmarks.md + docs/bench/*.svg from the newest results
//   node dist/bench/run.js all [--quick]     every suite with its defaults (or --quick), then the report
// Fails: exit 2 on an unknown suite, 1 on bad options or a failed run; every started process is
// stopped by PID and the scratch dirs are removed (kept with MOAT_KEEP_TEST_DIRS=1).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { CONNECTIONS_FULL_PRESET, CONNECTIONS_QUICK_PRESET } from './connections/options.js';
import type { ConnectionsBenchOptions } from './connections/options.js';
import { runConnectionsSuite } from './connections/suite.js';
import { projectRoot } from './lib/paths.js';
import type { ConnectionMode, SystemName } from './relay/gateway.js';
import { FILTER_FULL_PRESET, FILTER_QUICK_PRESET } from './filter/options.js';
import type { FilterBenchOptions, FilterSystem } from './filter/options.js';
import type { MixName } from './filter/mix.js';
import { runFilterSuite } from './filter/suite.js';
import { FULL_PRESET, QUICK_PRESET } from './relay/options.js';
import type { RelayBenchOptions } from './relay/options.js';
import { canRunPostfix } from './relay/postfix-gateway.js';
import { renderRelayMarkdown } from './relay/report.js';
import { renderConnectionsMarkdown } from './report/connections-section.js';
import { renderFilterMarkdown } from './report/filter-section.js';
import { renderSoakMarkdown } from './report/soak-section.js';
import { parseSeconds, SOAK_FULL_PRESET, SOAK_QUICK_PRESET } from './soak/options.js';
import type { SoakBenchOptions } from './soak/options.js';
import { runSoakSuite } from './soak/suite.js';
import { writeReport } from './report/write.js';
import { runRelaySuite } from './relay/suite.js';
import { accuracy, scan } from './accuracy/commands.js';
import { SCALE_FULL_PRESET, SCALE_QUICK_PRESET, type ScaleBenchOptions, type ScaleSetup } from './scale/options.js';
import { renderScaleMarkdown } from './scale/report.js';
import { runScaleSuite } from './scale/suite.js';

const USAGE = `usage: node dist/bench/run.js all [--quick]
       node dist/bench/run.js report
       node dist/bench/run.js accuracy [--quick] [--systems moat,spamassassin,rspamd] [--concurrency N] [--out FILE]
       node dist/bench/run.js scan [--quick] [--systems moat,spamassassin,rspamd] [--concurrency N] [--repeats N] [--clamd] [--out FILE]
       node dist/bench/run.js connections [--quick] [--idle N] [--slow N] [--slow-seconds N] [--legit N] [--repeats N]
          [--in-flight N] [--systems moat,postfix,haraka] [--out FILE]
       node dist/bench/run.js filter [--quick] [--systems moat,postfix-sa,postfix-rspamd] [--mixes synthetic,corpus] [--sessions 20,50]
          [--messages N] [--repeats N] [--warmup N] [--corpus N] [--virus-every N]
          [--moat-spamassassin] [--out FILE]
       node dist/bench/run.js soak [--quick] [--duration 1h] [--rate 20] [--sessions N] [--flap-every 5m] [--down 30s]
          [--retry 10s] [--size 5120]
          [--sample-every 5s] [--drain-timeout 10m] [--out FILE]
       node dist/bench/run.js scale [--quick] [--messages N] [--sessions N] [--repeats N] [--workers N] [--warmup N]
          [--setups embedded,shared-1,shared-2] [--out FILE]
       node dist/bench/run.js relay [--quick] [--messages N] [--latency-messages N] [--repeats N]
          [--sizes 5120,51200] [--sessions 20,100] [--modes new,reuse] [--systems moat,postfix,haraka] [--warmup N] [--out FILE]`;

/** How this process was started, for the report (arguments quoted when they need it). */
export function commandLine(argv: readonly string[]): string {
  const q = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const env = ['MOAT_BENCH_NODE_ARGS', 'MOAT_BENCH_CONFIG'].map((k) => (process.env[k] !== undefined ? `${k}=${q(process.env[k])} ` : '')).join('');
  return `${env}node dist/bench/run.js ${argv.map(q).join(' ')}`.trim();
}

function numbers(v: string | undefined): number[] | undefined {
  return v === undefined ? undefined : v.split(',').map((x) => Number(x.trim()));
}

function int(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Builds the relay options from the command line (preset first, then each flag). */
export function relayOptionsFromArgs(argv: readonly string[]): { options: RelayBenchOptions; out: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      messages: { type: 'string' },
      'latency-messages': { type: 'string' },
      repeats: { type: 'string' },
      sizes: { type: 'string' },
      sessions: { type: 'string' },
      systems: { type: 'string' },
      modes: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? QUICK_PRESET : FULL_PRESET;
  const systems = systemsOr(values.systems, base.systems);
  const options: RelayBenchOptions = {
    ...base,
    systems,
    sizes: numbers(values.sizes) ?? base.sizes,
    sessions: numbers(values.sessions) ?? base.sessions,
    modes: (values.modes?.split(',').map((s) => s.trim()) as ConnectionMode[] | undefined) ?? base.modes,
    messages: int(values.messages) ?? base.messages,
    latencyMessages: int(values['latency-messages']) ?? base.latencyMessages,
    repeats: int(values.repeats) ?? base.repeats,
    warmupMessages: int(values.warmup) ?? base.warmupMessages,
    ...(process.env['MOAT_BENCH_NODE_ARGS'] !== undefined ? { moatNodeArgs: process.env['MOAT_BENCH_NODE_ARGS'].split(/\s+/).filter((a) => a !== '') } : {}),
    ...(process.env['MOAT_BENCH_CONFIG'] !== undefined ? { moatConfig: JSON.parse(process.env['MOAT_BENCH_CONFIG']) as Record<string, unknown> } : {}),
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  return { options, out: values.out };
}

function systemsOr(v: string | undefined, base: readonly SystemName[]): SystemName[] {
  return (v?.split(',').map((s) => s.trim()) as SystemName[] | undefined) ?? base.filter((s) => s !== 'postfix' || canRunPostfix());
}

export async function writeResult(suite: string, startedAt: string, out: string | undefined, data: unknown): Promise<string> {
  const file = out ?? join(projectRoot(), 'bench', 'out', `${suite}-${startedAt.replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

async function connections(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      idle: { type: 'string' },
      slow: { type: 'string' },
      'slow-seconds': { type: 'string' },
      legit: { type: 'string' },
      repeats: { type: 'string' },
      'in-flight': { type: 'string' },
      systems: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? CONNECTIONS_QUICK_PRESET : CONNECTIONS_FULL_PRESET;
  const options: ConnectionsBenchOptions = {
    ...base,
    systems: systemsOr(values.systems, base.systems),
    idleSessions: int(values.idle) ?? base.idleSessions,
    slowClients: int(values.slow) ?? base.slowClients,
    slowSeconds: int(values['slow-seconds']) ?? base.slowSeconds,
    legitSessions: int(values.legit) ?? base.legitSessions,
    repeats: int(values.repeats) ?? base.repeats,
    openInFlight: int(values['in-flight']) ?? base.openInFlight,
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  if (!canRunPostfix() && options.systems.includes('postfix')) throw new Error('Postfix needs root (its master must be started by root)');
  const report = { ...(await runConnectionsSuite(options)), command: commandLine(['connections', ...argv]) };
  const file = await writeResult('connections', report.startedAt, values.out, report);
  process.stdout.write(renderConnectionsMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

async function relay(argv: readonly string[]): Promise<void> {
  const { options, out } = relayOptionsFromArgs(argv);
  if (!canRunPostfix()) {
    if (options.systems.includes('postfix')) throw new Error('Postfix needs root (its master must be started by root)');
    process.stderr.write('[bench] not root: Postfix skipped\n');
  }
  const report = { ...(await runRelaySuite(options)), command: commandLine(['relay', ...argv]) };
  const file = await writeResult('relay', report.startedAt, out, report);
  process.stdout.write(renderRelayMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

async function filter(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      systems: { type: 'string' },
      mixes: { type: 'string' },
      sessions: { type: 'string' },
      messages: { type: 'string' },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      corpus: { type: 'string' },
      'virus-every': { type: 'string' },
      'moat-spamassassin': { type: 'boolean' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? FILTER_QUICK_PRESET : FILTER_FULL_PRESET;
  const list = (v: string | undefined): string[] | undefined => v?.split(',').map((s) => s.trim());
  const options: FilterBenchOptions = {
    ...base,
    systems: (list(values.systems) as FilterSystem[] | undefined) ?? base.systems,
    mixes: (list(values.mixes) as MixName[] | undefined) ?? base.mixes,
    sessions: numbers(values.sessions) ?? base.sessions,
    messages: int(values.messages) ?? base.messages,
    repeats: int(values.repeats) ?? base.repeats,
    warmupMessages: int(values.warmup) ?? base.warmupMessages,
    corpusCount: int(values.corpus) ?? base.corpusCount,
    virusEvery: int(values['virus-every']) ?? base.virusEvery,
    moatSpamassassin: values['moat-spamassassin'] ?? base.moatSpamassassin,
    ...(process.env['MOAT_BENCH_CONFIG'] !== undefined ? { moatConfig: JSON.parse(process.env['MOAT_BENCH_CONFIG']) as Record<string, unknown> } : {}),
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  const report = { ...(await runFilterSuite(options)), command: commandLine(['filter', ...argv]) };
  const file = await writeResult('filter', report.startedAt, values.out, report);
  process.stdout.write(renderFilterMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

async function soak(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rate: { type: 'string' },
      sessions: { type: 'string' },
      size: { type: 'string' },
      'flap-every': { type: 'string' },
      down: { type: 'string' },
      retry: { type: 'string' },
      'sample-every': { type: 'string' },
      'drain-timeout': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? SOAK_QUICK_PRESET : SOAK_FULL_PRESET;
  const options: SoakBenchOptions = {
    ...base,
    durationSec: parseSeconds('duration', values.duration) ?? base.durationSec,
    ratePerSec: int(values.rate) ?? base.ratePerSec,
    sessions: int(values.sessions) ?? base.sessions,
    size: int(values.size) ?? base.size,
    flapEverySec: parseSeconds('flap-every', values['flap-every']) ?? base.flapEverySec,
    downSec: parseSeconds('down', values.down) ?? base.downSec,
    retrySec: parseSeconds('retry', values.retry) ?? base.retrySec,
    sampleEverySec: parseSeconds('sample-every', values['sample-every']) ?? base.sampleEverySec,
    drainTimeoutSec: parseSeconds('drain-timeout', values['drain-timeout']) ?? base.drainTimeoutSec,
    ...(process.env['MOAT_BENCH_CONFIG'] !== undefined ? { moatConfig: JSON.parse(process.env['MOAT_BENCH_CONFIG']) as Record<string, unknown> } : {}),
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  const report = { ...(await runSoakSuite(options)), command: commandLine(['soak', ...argv]) };
  const file = await writeResult('soak', report.startedAt, values.out, report);
  process.stdout.write(renderSoakMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
  if (report.lost > 0) throw new Error(`soak: ${report.lost} accepted message(s) never reached the sink (e.g. soak.${report.lostIds.join(', soak.')})`);
}

async function scale(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      messages: { type: 'string' },
      sessions: { type: 'string' },
      repeats: { type: 'string' },
      workers: { type: 'string' },
      warmup: { type: 'string' },
      setups: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? SCALE_QUICK_PRESET : SCALE_FULL_PRESET;
  const options: ScaleBenchOptions = {
    ...base,
    messages: int(values.messages) ?? base.messages,
    sessions: int(values.sessions) ?? base.sessions,
    repeats: int(values.repeats) ?? base.repeats,
    workers: int(values.workers) ?? base.workers,
    warmup: int(values.warmup) ?? base.warmup,
    setups: (values.setups?.split(',').map((s) => s.trim()) as ScaleSetup[] | undefined) ?? base.setups,
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  const report = { ...(await runScaleSuite(options)), command: commandLine(['scale', ...argv]) };
  const file = await writeResult('scale', report.startedAt, values.out, report);
  process.stdout.write(renderScaleMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

async function report(argv: readonly string[]): Promise<void> {
  if (argv.length > 0) throw new Error(`report takes no options, got ${argv.join(' ')}`);
  const w = await writeReport();
  process.stderr.write(`[bench] wrote ${w.markdownFile} and ${w.svgFiles.length} plot(s) from ${w.sources.join(', ')}\n`);
}

/** The measuring suites, in the order `all` runs them. */
const MEASURING: Readonly<Record<string, (argv: readonly string[]) => Promise<void>>> = { relay, connections, filter, soak, scale, accuracy, scan };

async function all(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  if (argv.some((a) => a !== '--quick')) throw new Error('all takes only --quick (run a suite alone for its options)');
  for (const [name, run] of Object.entries(MEASURING)) {
    process.stderr.write(`[bench] suite ${name}\n`);
    await run(quick ? ['--quick'] : []);
    await stopAll();
  }
  await report([]);
}

const SUITES: Readonly<Record<string, (argv: readonly string[]) => Promise<void>>> = { ...MEASURING, report, all };

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const suite = name === undefined ? undefined : SUITES[name];
  if (suite === undefined) {
    process.stderr.write(`${USAGE}\nsuites: ${Object.keys(SUITES).join(', ')}\n`);
    return 2;
  }
  try {
    await suite(rest);
    return 0;
  } catch (err: unknown) {
    process.stderr.write(`[bench] ${name ?? ''} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    await stopAll();
    // MOAT_KEEP_TEST_DIRS=1 keeps them (spools, Postfix's maillog)
    await removeAllScratchDirs();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
