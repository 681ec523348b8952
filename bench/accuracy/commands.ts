// The accuracy and scan suites' command lines for bench/run.ts: options, the JSON result under
// bench/out/, the Markdown table on stdout. Fails: throws on an unknown option or system.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { commandLine, writeResult } from '../run.js';
import { ACCURACY_SYSTEMS, renderAccuracyMarkdown, runAccuracySuite, type AccuracySystem } from './suite.js';
import { renderScanMarkdown, runScanSuite } from './scan-suite.js';

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

function parse(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: { quick: { type: 'boolean', default: false }, systems: { type: 'string' }, concurrency: { type: 'string' }, out: { type: 'string' }, clamd: { type: 'boolean', default: false }, repeats: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const systems = (values.systems?.split(',').map((x) => x.trim()) ?? (quick ? ['moat'] : [...ACCURACY_SYSTEMS])) as AccuracySystem[];
  for (const s of systems) if (!ACCURACY_SYSTEMS.includes(s)) throw new Error(`unknown system ${s} (${ACCURACY_SYSTEMS.join(', ')})`);
  const concurrency = values.concurrency === undefined ? 2 * availableParallelism() : Number(values.concurrency);
  return { quick, systems, concurrency, out: values.out as string | undefined, values };
}

export async function accuracy(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  if (o.values.clamd === true || o.values.repeats !== undefined) throw new Error('--clamd and --repeats are options of the scan suite');
  const report = { ...(await runAccuracySuite({ quick: o.quick, systems: o.systems, concurrency: o.concurrency, log })), command: commandLine(['accuracy', ...argv]) };
  const file = await writeResult('accuracy', report.startedAt, o.out, report);
  process.stdout.write(renderAccuracyMarkdown(report));
  log(`report written to ${file}`);
}

export async function scan(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  const repeats = o.values.repeats === undefined ? undefined : Number(o.values.repeats);
  if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1 && repeats <= 10)) throw new Error('--repeats: 1 to 10');
  const report = { ...(await runScanSuite({ quick: o.quick, systems: o.systems, concurrency: o.concurrency, clamd: o.values.clamd === true, log, ...(repeats !== undefined ? { repeats } : {}) })), command: commandLine(['scan', ...argv]) };
  const file = await writeResult('scan', report.startedAt, o.out, report);
  process.stdout.write(renderScanMarkdown(report));
  log(`report written to ${file}`);
}
