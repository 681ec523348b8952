/**
 * The CPU clock of one thread, for the rule pass's time budget: a budget counted in wall time is
 * spent by the neighbours' load (on a busy machine a 100 ms pass takes 500 ms of wall time and its
 * verdict changes), one counted in the thread's own CPU time is not, and a runaway regex spends it
 * all the same. Node 20 has no per-thread CPU clock (process.cpuUsage() adds up every thread), so
 * this reads Linux's: /proc/thread-self/schedstat's first field is the nanoseconds the calling
 * thread ran, and /proc/self/task/TID/schedstat another thread's of this process. A read costs a
 * file open (tens of µs), so callers read it only once the wall clock says the budget could be
 * spent. Fails: where the files cannot be read (not Linux, no schedstat), the functions return
 * null and the callers count wall time, as before.
 */
import { readFileSync } from 'node:fs';

/** Milliseconds of CPU a schedstat file reports, or null. */
function schedstatMs(path: string): number | null {
  try {
    const ns = Number(readFileSync(path, 'latin1').split(' ', 1)[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/** The calling thread's CPU clock (ms), or null where there is none. */
export function threadCpuClock(): (() => number) | null {
  if (schedstatMs('/proc/thread-self/schedstat') === null) return null;
  // A read that fails after one succeeded (it does not happen in practice) counts as spent budget.
  return () => schedstatMs('/proc/thread-self/schedstat') ?? Number.POSITIVE_INFINITY;
}

/** The calling thread's kernel task id (for taskCpuMs from another thread), or null. */
export function threadTaskId(): number | null {
  try {
    const tid = Number.parseInt(readFileSync('/proc/thread-self/stat', 'latin1'), 10);
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** CPU milliseconds another thread of this process has run, or null (gone, or no schedstat). */
export function taskCpuMs(tid: number): number | null {
  return schedstatMs(`/proc/self/task/${tid}/schedstat`);
}
