// The accuracy and scan suites' command lines for bench/run.ts: options (the shared parser of
// bench/lib/options.ts), the JSON result under bench/out/, the Markdown table on stdout.
// Fails: throws on an unknown option or system.
import { availableParallelism } from 'node:os';
import { checks, int, list, parseFlags, stderrLog as log } from '../lib/options.js';
import { commandLine, writeResult } from '../run.js';
import { ACCURACY_SYSTEMS, renderAccuracyMarkdown, runAccuracySuite, type AccuracySystem } from './suite.js';
import { renderScanMarkdown, runScanSuite } from './scan-suite.js';

function parse(argv: readonly string[]) {
  const values = parseFlags(argv, { systems: 'string', concurrency: 'string', clamd: 'boolean', repeats: 'string', messages: 'string' });
  const quick = values.quick;
  const systems = (list(values.systems) ?? (quick ? ['moat'] : [...ACCURACY_SYSTEMS])) as AccuracySystem[];
  checks('accuracy').oneOf('system', systems, ACCURACY_SYSTEMS);
  const concurrency = int(values.concurrency) ?? availableParallelism();
  checks('accuracy').int('concurrency', concurrency, 1, 64);
  return { quick, systems, concurrency, out: values.out, values };
}

export async function accuracy(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  if (o.values.clamd === true || o.values.repeats !== undefined || o.values.messages !== undefined) throw new Error('--clamd, --repeats and --messages are options of the scan suite');
  const report = { ...(await runAccuracySuite({ quick: o.quick, systems: o.systems, concurrency: o.concurrency, log })), command: commandLine(['accuracy', ...argv]) };
  const file = await writeResult('accuracy', report.startedAt, o.out, report);
  process.stdout.write(renderAccuracyMarkdown(report));
  log(`report written to ${file}`);
}

export async function scan(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  const repeats = o.values.repeats === undefined ? undefined : Number(o.values.repeats);
  if (repeats !== undefined) checks('scan').int('repeats', repeats, 1, 10);
  const messages = int(o.values.messages);
  if (messages !== undefined) checks('scan').int('messages', messages, 10, 100_000);
  const report = { ...(await runScanSuite({ quick: o.quick, systems: o.systems, concurrency: o.concurrency, clamd: o.values.clamd === true, log, ...(repeats !== undefined ? { repeats } : {}), ...(messages !== undefined ? { messages } : {}) })), command: commandLine(['scan', ...argv]) };
  const file = await writeResult('scan', report.startedAt, o.out, report);
  process.stdout.write(renderScanMarkdown(report));
  log(`report written to ${file}`);
}
