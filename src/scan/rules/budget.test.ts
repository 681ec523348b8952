// The rule pass's time budget counts the thread's CPU time, not wall time: a pass that a loaded
// machine stretches in wall time (the thread waiting for a core) runs to the end, a pass that
// spends its budget in CPU still stops at the rule that spent it, and the CPU clock is read only
// once the wall clock says the budget could be spent. The clock itself: Linux's per-thread
// schedstat advances while this thread computes and stands still while it is blocked.
import { describe, expect, it } from 'vitest';
import { compileRules } from './compiler.js';
import { taskCpuClock, threadCpuClock, threadTaskId } from './cpu-clock.js';
import { evaluate, prepare } from './evaluator.js';
import type { RuleInput } from './input.js';

const { set } = compileRules([{ file: 't.cf', text: 'body R1 /hello/\nbody R2 /there/\nbody R3 /again/\nbody R4 /never/\n' }], { scoreSet: 3, taken: new Set() });
const prepared = prepare(set);
const input: RuleInput = { headers: [], envelopeFrom: '', body: ['\n', 'hello there again\n'], rawbody: [], full: '', uris: [] };

/**
 * A fake thread: every wall clock read moves time on by `step` ms (a rule ran), of which the
 * thread was on a core `share` of the time; counts the CPU clock's reads.
 */
function fakeThread(step: number, share: number): { wall: () => number; cpu: () => number; cpuReads: () => number } {
  let t = 0;
  let n = 0;
  return {
    wall: () => (t += step),
    cpu: () => {
      n++;
      return t * share;
    },
    cpuReads: () => n,
  };
}

describe('rule budget on the CPU clock', () => {
  it('runs every rule when wall time passes the budget but the thread used little CPU (a loaded machine)', () => {
    const f = fakeThread(400, 0.05); // each rule takes 400 ms of wall time, 20 ms on a core
    const r = evaluate(prepared, input, { budgetMs: 100, now: f.wall, cpu: f.cpu });
    expect(r.stoppedAt).toBeNull();
    expect(r.hits.map((h) => h.name)).toEqual(['R1', 'R2', 'R3']);
    expect(r.elapsedMs).toBeLessThanOrEqual(100);
  });

  it('stops at the rule that spent the budget in CPU time and names it', () => {
    const f = fakeThread(60, 1); // a quiet machine: each rule 60 ms on a core
    const r = evaluate(prepared, input, { budgetMs: 100, now: f.wall, cpu: f.cpu });
    expect(r.stoppedAt).toBe('R2');
    expect(r.hits.map((h) => h.name)).toEqual(['R1', 'R2']);
    expect(r.elapsedMs).toBeGreaterThan(100);
  });

  it('without a CPU clock counts wall time, as before', () => {
    const r = evaluate(prepared, input, { budgetMs: 100, now: fakeThread(60, 1).wall });
    expect(r.stoppedAt).toBe('R2');
  });

  it('reads the CPU clock only at the start and end of a pass that stays inside the budget in wall time', () => {
    const f = fakeThread(1, 1);
    const r = evaluate(prepared, input, { budgetMs: 1000, now: f.wall, cpu: f.cpu });
    expect(r.stoppedAt).toBeNull();
    expect(f.cpuReads()).toBe(2);
  });

  it('the thread CPU clock advances while computing and stands still while blocked (Linux)', () => {
    const clock = threadCpuClock();
    expect(clock, 'Linux gives a per-thread CPU clock in /proc/thread-self/schedstat').not.toBeNull();
    if (!clock) return;
    const c0 = clock();
    const t0 = performance.now();
    let x = 0;
    while (performance.now() - t0 < 30) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const c1 = clock();
    expect(c1).toBeGreaterThan(c0);
    // Blocked 100 ms in Atomics.wait: no CPU spent.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    expect(clock() - c1).toBeLessThan(50);
    // The same clock read from outside the thread by its task id.
    const tid = threadTaskId();
    expect(tid).not.toBeNull();
    const other = taskCpuClock(tid ?? 0);
    expect(other?.read()).toBeGreaterThanOrEqual(c1);
    other?.close();
    expect(other?.read()).toBeNull();
  });
});
