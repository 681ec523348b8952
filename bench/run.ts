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
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { connectionsOptionsFromArgs } from './connections/options.js';
import { runConnectionsSuite } from './connections/suite.js';
import { projectRoot } from './lib/paths.js';
import { filterOptionsFromArgs } from './filter/options.js';
import { runFilterSuite } from './filter/suite.js';
import { relayOptionsFromArgs } from './relay/options.js';
import { canRunPostfix } from './relay/postfix-gateway.js';
import { renderRelayMarkdown } from './relay/report.js';
import { renderConnectionsMarkdown } from './report/connections-section.js';
import { renderFilterMarkdown } from './report/filter-section.js';
import { renderSoakMarkdown } from './report/soak-section.js';
import { soakOptionsFromArgs } from './soak/options.js';
import { runSoakSuite } from './soak/suite.js';
import { writeReport } from './report/write.js';
import { runRelaySuite } from './relay/suite.js';
import { accuracy, scan } from './accuracy/commands.js';
import { scaleOptionsFromArgs } from './scale/options.js';
import { renderScaleMarkdown } from './scale/report.js';
import { runScaleSuite } from './scale/suite.js';

const USAGE = `usage: node dist/bench/run.js all [--quick]
       node dist/bench/run.js report
       node dist/bench/run.js accuracy [--quick] [--systems moat,spamassassin,rspamd] [--concurrency N] [--out FILE]
       node dist/bench/run.js scan [--quick] [--systems moat,spamassassin,rspamd] [--concurrency N] [--repeats N] [--messages N] [--clamd] [--out FILE]
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

export async function writeResult(suite: string, startedAt: string, out: string | undefined, data: unknown): Promise<string> {
  const file = out ?? join(projectRoot(), 'bench', 'out', `${suite}-${startedAt.replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

async function connections(argv: readonly string[]): Promise<void> {
  const { options, out } = connectionsOptionsFromArgs(argv);
  if (!canRunPostfix() && options.systems.includes('postfix')) throw new Error('Postfix needs root (its master must be started by root)');
  const report = { ...(await runConnectionsSuite(options)), command: commandLine(['connections', ...argv]) };
  const file = await writeResult('connections', report.startedAt, out, report);
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
  const { options, out } = filterOptionsFromArgs(argv);
  const report = { ...(await runFilterSuite(options)), command: commandLine(['filter', ...argv]) };
  const file = await writeResult('filter', report.startedAt, out, report);
  process.stdout.write(renderFilterMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

async function soak(argv: readonly string[]): Promise<void> {
  const { options, out } = soakOptionsFromArgs(argv);
  const report = { ...(await runSoakSuite(options)), command: commandLine(['soak', ...argv]) };
  const file = await writeResult('soak', report.startedAt, out, report);
  process.stdout.write(renderSoakMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
  if (report.lost > 0) throw new Error(`soak: ${report.lost} accepted message(s) never reached the sink (e.g. soak.${report.lostIds.join(', soak.')})`);
}

async function scale(argv: readonly string[]): Promise<void> {
  const { options, out } = scaleOptionsFromArgs(argv);
  const report = { ...(await runScaleSuite(options)), command: commandLine(['scale', ...argv]) };
  const file = await writeResult('scale', report.startedAt, out, report);
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
