// Benchmark entry point: `node dist/bench/run.js SUITE [options]` (after `npm run build`).
// Suites: relay (see README.md). Prints progress on stderr, the Markdown table on stdout, and
// writes the full report as JSON under bench/out/ (or --out FILE).
// Fails: exit 2 on an unknown suite, 1 on bad options or a failed run; every started process is
// stopped by PID and the scratch dirs are removed (kept with MOAT_KEEP_TEST_DIRS=1).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, stopAll } from '../test/harness/index.js';
import { projectRoot } from './lib/paths.js';
import type { ConnectionMode, SystemName } from './relay/gateway.js';
import { FULL_PRESET, QUICK_PRESET } from './relay/options.js';
import type { RelayBenchOptions } from './relay/options.js';
import { canRunPostfix } from './relay/postfix-gateway.js';
import { renderRelayMarkdown } from './relay/report.js';
import { runRelaySuite } from './relay/suite.js';

const USAGE = `usage: node dist/bench/run.js relay [--quick] [--messages N] [--latency-messages N] [--repeats N]
          [--sizes 5120,51200] [--sessions 20,100] [--modes new,reuse] [--systems moat,postfix,haraka] [--warmup N] [--out FILE]`;

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
  const systems = (values.systems?.split(',').map((s) => s.trim()) as SystemName[] | undefined) ?? base.systems.filter((s) => s !== 'postfix' || canRunPostfix());
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
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  };
  return { options, out: values.out };
}

async function relay(argv: readonly string[]): Promise<void> {
  const { options, out } = relayOptionsFromArgs(argv);
  if (!canRunPostfix()) {
    if (options.systems.includes('postfix')) throw new Error('Postfix needs root (its master must be started by root)');
    process.stderr.write('[bench] not root: Postfix skipped\n');
  }
  const report = await runRelaySuite(options);
  const file = out ?? join(projectRoot(), 'bench', 'out', `relay-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderRelayMarkdown(report));
  process.stderr.write(`[bench] report written to ${file}\n`);
}

const SUITES: Readonly<Record<string, (argv: readonly string[]) => Promise<void>>> = { relay };

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
    process.stderr.write(`[bench] ${suite === relay ? 'relay' : name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
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
