/**
 * `moat scan --config FILE [--json] PATH…`: the offline verdict of message files, directories,
 * Maildirs and mbox files (scan-input.ts), each through the pipeline's data phase (scanner.ts).
 * Prints per message the symbols with score and description, the total, the thresholds and the
 * action; with --json one object per line. Results come in input order. Many messages are shared
 * out to worker threads (one per core, at most 4) so a big directory uses every core; a few are
 * scanned here. Exit 0 when every message was scanned, 1 when one could not be read or scanned.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { scanInputs, type InputItem } from './scan-input.js';
import type { ScanResult } from './scanner.js';

export interface ScanOptions {
  readonly json: boolean;
  /** Worker threads; default: one per core (at most 4), none for fewer than PARALLEL_FROM messages. */
  readonly workers?: number;
}

type Outcome = { readonly file: string; readonly result: ScanResult } | { readonly file: string; readonly error: string };

/** Below this many messages, starting threads costs more than it saves. */
const PARALLEL_FROM = 32;
/** Messages handed to one worker and not yet answered. */
const IN_FLIGHT = 8;
/** Messages read and not yet handed to a worker. */
const READ_AHEAD = 256;

function format(o: Outcome, json: boolean): string {
  if ('error' in o) return json ? JSON.stringify({ file: o.file, error: o.error }) : `${o.file}\n  error: ${o.error}\n`;
  const r = o.result;
  if (json) {
    return JSON.stringify({ file: r.file, score: r.score, action: r.action, reason: r.reason, thresholds: r.thresholds, symbols: r.symbols.map((s) => ({ name: s.name, score: s.score, ...(s.detail ? { detail: s.detail } : {}), ...(s.observed ? { observed: true } : {}) })) });
  }
  const t = r.thresholds;
  const lines = [r.file];
  for (const s of r.symbols) lines.push(`  ${(s.observed ? `${s.name}(observed)` : s.name).padEnd(28)} ${s.score.toFixed(2).padStart(7)}  ${s.description}${s.detail ? ` [${s.detail}]` : ''}`);
  if (r.symbols.length === 0) lines.push('  (no symbols)');
  lines.push(`  total ${r.score.toFixed(2)} (tag ${t.tag ?? '-'}, quarantine ${t.quarantine ?? '-'}, reject ${t.reject ?? '-'}): ${r.action} (${r.reason})`);
  return `${lines.join('\n')}\n`;
}


async function scanHere(config: Config, items: readonly InputItem[], emit: (o: Outcome) => void): Promise<void> {
  // Loaded here only: with worker threads, this thread reads and prints and never loads the checks.
  const scanner = await (await import('./scanner.js')).createScanner(config);
  try {
    for (const i of items) {
      if ('error' in i) emit(i);
      else emit(await scanner.scan(i.file, i.raw).then((result) => ({ file: i.file, result }), (e: unknown) => ({ file: i.file, error: e instanceof Error ? e.message : String(e) })));
    }
  } finally {
    await scanner.close();
  }
}

/**
 * Shares the messages out to `count` worker threads, reading the rest of the input while they
 * start: the threads are started before the files are read, so their start-up (module loading,
 * rule compilation) overlaps the reading instead of following it. At most READ_AHEAD messages are
 * held in memory beyond those handed out.
 */
async function scanInWorkers(config: Config, head: readonly InputItem[], rest: AsyncIterator<InputItem>, count: number, emit: (o: Outcome) => void): Promise<void> {
  const items: (InputItem | null)[] = [...head]; // null: handed out (the worker has the octets)
  const done = new Map<number, Outcome>();
  let next = 0; // next index to print
  let dispatched = 0;
  let ended = false;
  let readError: unknown = null;
  const flush = (): void => {
    for (let o = done.get(next); o; o = done.get(next)) {
      done.delete(next);
      emit(o);
      next++;
    }
  };
  const finish = (index: number, o: Outcome): void => {
    done.set(index, o);
    flush();
  };
  // The validated config goes to the threads as data (a structured clone): they do not read and validate the file again.
  const workers = Array.from({ length: count }, () => new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: { config } }));
  const feeders: (() => void)[] = [];
  let wakeReader: (() => void) | null = null;
  const read = async (): Promise<void> => {
    try {
      for (;;) {
        while (items.length - dispatched >= READ_AHEAD) await new Promise<void>((r) => (wakeReader = r));
        const r = await rest.next();
        if (r.done) break;
        items.push(r.value);
        for (const f of feeders) f();
      }
    } catch (e) {
      readError = e;
    } finally {
      ended = true;
      for (const f of feeders) f();
    }
  };
  const reading = read();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          let inFlight = 0;
          let closed = false;
          const feed = (): void => {
            while (inFlight < IN_FLIGHT && dispatched < items.length) {
              const index = dispatched++;
              const item = items[index] as InputItem;
              items[index] = null;
              if ('error' in item) {
                finish(index, item);
                continue;
              }
              inFlight++;
              w.postMessage({ index, file: item.file, raw: item.raw });
            }
            wakeReader?.();
            wakeReader = null;
            if (inFlight === 0 && ended && dispatched >= items.length && !closed) {
              closed = true;
              w.postMessage(null);
            }
          };
          feeders.push(feed);
          w.on('message', (m: { ready?: true; index?: number; file?: string; result?: ScanResult; error?: string }) => {
            if (m.index !== undefined) {
              inFlight--;
              const file = m.file ?? '';
              finish(m.index, m.result ? { file, result: m.result } : { file, error: m.error ?? 'scan failed' });
            }
            feed();
          });
          w.once('error', reject);
          w.once('exit', () => resolve());
        }),
    ),
  );
  await reading;
  flush();
  if (readError !== null) throw readError;
}

export async function scanCommand(config: Config, paths: readonly string[], options: ScanOptions): Promise<number> {
  let failed = 0;
  let total = 0;
  const emit = (o: Outcome): void => {
    total++;
    if ('error' in o) failed++;
    process.stdout.write(`${format(o, options.json)}${options.json ? '\n' : ''}`);
  };
  // Read the first PARALLEL_FROM messages: with fewer, they are scanned here; with more, worker threads start.
  const input = scanInputs(paths)[Symbol.asyncIterator]();
  const head: InputItem[] = [];
  for (let r = await input.next(); !r.done; r = await input.next()) {
    head.push(r.value);
    if (head.length >= PARALLEL_FROM) break;
  }
  const wanted = options.workers ?? (head.length >= PARALLEL_FROM ? Math.min(4, availableParallelism()) : 0);
  if (wanted > 1) await scanInWorkers(config, head, input, wanted, emit);
  else {
    for (let r = await input.next(); !r.done; r = await input.next()) head.push(r.value);
    await scanHere(config, head, emit);
  }
  return failed > 0 || total === 0 ? 1 : 0;
}
