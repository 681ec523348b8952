/**
 * Runs rule passes off the event loop, in worker threads, with a hard deadline
 * (docs/rules.md, "The time budget"). A pass that overruns its budget by more than GRACE_MS is
 * a regex the evaluator's own clock checks cannot stop (one match that never returns): the thread
 * is terminated (V8 interrupts a running match), the rule it was in is read from shared memory,
 * and the pass reports it as stopped; the next pass starts a fresh thread. Like the evaluator's
 * budget, the deadline counts the rule thread's CPU time where Linux gives it (cpu-clock.ts): the
 * timer fires after budget + GRACE_MS of wall time, and when the thread has run less than that
 * (a loaded machine), it is set again for what is left. Threads are started on
 * first use, one message at a time each, warm up (compile every regex) before their first message, and end after IDLE_MS without work (so the threads of a
 * rule set replaced by SIGHUP go away). `inlineRunner` is the same contract on the calling thread,
 * without the hard deadline (unit tests, benchmarks). A thread that dies otherwise fails the pass.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { RuleSet } from './compiler.js';
import { taskCpuClock, threadCpuClock, type CpuClock } from './cpu-clock.js';
import { evaluate, prepare, warmUp, type EvalResult } from './evaluator.js';
import type { RuleInput } from './input.js';

export interface PassResult extends EvalResult {
  /** The thread was terminated because one rule did not return. */
  readonly killed: boolean;
}

export interface RuleRunner {
  run(input: RuleInput, signal: AbortSignal): Promise<PassResult>;
}

/** How far past the budget a pass may run before its thread is terminated. */
export const GRACE_MS = 100;
/** A thread kept warm this long without work (starting one compiles every regex again). */
const IDLE_MS = 10 * 60_000;

export function inlineRunner(set: RuleSet, budgetMs: number): RuleRunner {
  const prepared = prepare(set);
  warmUp(prepared);
  const cpu = threadCpuClock();
  return {
    run: (input) => Promise.resolve({ ...evaluate(prepared, input, { budgetMs, now: () => performance.now(), cpu }), killed: false }),
  };
}

interface Job {
  readonly input: RuleInput;
  readonly signal: AbortSignal;
  readonly resolve: (r: PassResult) => void;
  readonly reject: (e: Error) => void;
}

class Slot {
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  /** The thread's CPU clock; null: the deadline counts wall time. */
  private clock: CpuClock | null = null;
  private progress = new Int32Array(new SharedArrayBuffer(4));
  private idle: NodeJS.Timeout | null = null;
  private nextId = 1;
  busy = false;

  constructor(
    private readonly set: RuleSet,
    private readonly budgetMs: number,
    private readonly url: URL,
  ) {}

  private start(): Promise<Worker> {
    this.progress = new Int32Array(new SharedArrayBuffer(4));
    this.progress[0] = -1;
    const w = new Worker(this.url, { workerData: { set: this.set, budgetMs: this.budgetMs, progress: this.progress.buffer } });
    w.unref();
    this.worker = w;
    return new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean; tid?: number | null }): void => {
        if (!m.ready) return;
        this.clock = typeof m.tid === 'number' ? taskCpuClock(m.tid) : null;
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(w);
      };
      const onError = (e: Error): void => {
        this.worker = null;
        this.ready = null;
        this.clock?.close();
        this.clock = null;
        reject(e);
      };
      w.on('message', onMessage);
      w.once('error', onError);
    });
  }

  private stop(): void {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.clock?.close();
    this.clock = null;
    if (w) void w.terminate();
  }

  async run(job: Job): Promise<void> {
    this.busy = true;
    if (this.idle) clearTimeout(this.idle);
    try {
      const w = await (this.ready ??= this.start());
      if (job.signal.aborted) throw new Error('deadline passed before the rule pass started');
      const started = performance.now();
      // The thread waits for this message, so its CPU clock stands still until it is posted.
      const clock = this.clock;
      const cpuStart = clock?.read() ?? null;
      /** Time the pass has run, on the deadline's clock. */
      const spent = (): number => {
        const now = cpuStart === null ? null : (clock?.read() ?? null);
        return now === null || cpuStart === null ? performance.now() - started : now - cpuStart;
      };
      const id = this.nextId++;
      const result = await new Promise<PassResult>((resolve, reject) => {
        const cleanup = (): void => {
          clearTimeout(timer);
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
        };
        const onMessage = (m: { id?: number; result?: EvalResult; error?: string }): void => {
          if (m.id !== id) return;
          cleanup();
          if (m.result) resolve({ ...m.result, killed: false });
          else reject(new Error(m.error ?? 'rule thread failed'));
        };
        const onError = (e: Error): void => {
          cleanup();
          this.stop();
          reject(e);
        };
        const onExit = (): void => {
          cleanup();
          this.stop();
          reject(new Error('rule thread exited'));
        };
        const deadline = this.budgetMs + GRACE_MS;
        const expire = (): void => {
          const used = spent();
          if (used < deadline) {
            // The thread ran less than its deadline (it waited for a core): it may run the rest.
            timer = setTimeout(expire, Math.max(1, deadline - used));
            return;
          }
          cleanup();
          const index = Atomics.load(this.progress, 0);
          const rule = index >= 0 ? (this.set.rules[index]?.name ?? '?') : '?';
          this.stop();
          resolve({ hits: [], stoppedAt: rule, elapsedMs: used, killed: true });
        };
        let timer = setTimeout(expire, deadline);
        w.on('message', onMessage);
        w.once('error', onError);
        w.once('exit', onExit);
        w.postMessage({ id, input: job.input });
      });
      job.resolve(result);
    } catch (e) {
      job.reject(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.busy = false;
      this.idle = setTimeout(() => this.stop(), IDLE_MS);
      this.idle.unref();
    }
  }
}

/** `count` threads over one rule set; `url` is the thread's script (worker.js beside this file). */
export function threadRunner(set: RuleSet, budgetMs: number, count: number, url: URL = new URL('./worker.js', import.meta.url)): RuleRunner {
  const slots = Array.from({ length: count }, () => new Slot(set, budgetMs, url));
  const queue: Job[] = [];
  const pump = (): void => {
    for (const slot of slots) {
      if (slot.busy) continue;
      const job = queue.shift();
      if (!job) return;
      void slot.run(job).then(pump);
    }
  };
  return {
    run: (input, signal) =>
      new Promise<PassResult>((resolve, reject) => {
        queue.push({ input, signal, resolve, reject });
        pump();
      }),
  };
}
