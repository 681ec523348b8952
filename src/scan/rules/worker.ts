/**
 * The rule thread (thread.ts starts it): builds the RegExp objects of the rule set it is given
 * once, runs them over a small message so that V8 compiles them, says "ready", then evaluates one message's rule input per request and posts the result.
 * Before each rule it writes the rule's index into the shared progress slot, so that the owner can
 * name a rule that never returned when it terminates this thread. The budget counts this thread's
 * CPU time (cpu-clock.ts); "ready" carries the thread's task id, with which the owner reads the same
 * clock for its hard deadline. Trusts its owner; a failure of one evaluation is posted back as an error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { RuleSet } from './compiler.js';
import { threadCpuClock, threadTaskId } from './cpu-clock.js';
import { evaluate, prepare, warmUp } from './evaluator.js';
import type { RuleInput } from './input.js';

interface Init {
  readonly set: RuleSet;
  readonly budgetMs: number;
  readonly progress: SharedArrayBuffer;
}

const init = workerData as Init;
const prepared = prepare(init.set);
warmUp(prepared);
const progress = new Int32Array(init.progress);
const cpu = threadCpuClock();
const port = parentPort;
if (port) {
  port.on('message', (m: { id: number; input: RuleInput }) => {
    try {
      const result = evaluate(prepared, m.input, { budgetMs: init.budgetMs, now: () => performance.now(), cpu, progress });
      port.postMessage({ id: m.id, result });
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  port.postMessage({ ready: true, tid: cpu ? threadTaskId() : null });
}
