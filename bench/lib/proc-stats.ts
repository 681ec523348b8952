// CPU time and resident memory of a process tree, read from Linux /proc.
// Trusts: /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN) lists a thread's children;
// /proc/PID/stat fields 14-17 are utime, stime, cutime, cstime in clock ticks; /proc/PID/statm
// field 2 is resident pages.
// Counting: the CPU of a tree is the sum over its live processes of utime+stime+cutime+cstime, so a
// child that exits between two samples moves from its own line into its parent's cutime/cstime and
// is neither lost nor counted twice (as long as the parent reaps it, which Postfix's master and
// node:cluster do). RSS is summed over the tree, so pages shared between processes (Postfix's
// many daemons share their text) count once per process: an upper bound. PSS (smaps_rollup)
// splits each shared page among its sharers, so its sum is the tree's fair share of memory; it is
// dearer to read, so samplers read it less often.
// Fails: never; a process that vanished while being read counts as 0.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 5000 }).trim());
    return Number.isInteger(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

let ticksPerSecond: number | undefined;
let pageSize: number | undefined;

/** Clock ticks per second (getconf CLK_TCK, usually 100). */
export function clockTicks(): number {
  ticksPerSecond ??= sysconf('CLK_TCK', 100);
  return ticksPerSecond;
}

function pageBytes(): number {
  pageSize ??= sysconf('PAGESIZE', 4096);
  return pageSize;
}

/** The PIDs of `root` and all its descendants, root first (bounded depth and count). */
export function processTree(root: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const visit = (pid: number, depth: number): void => {
    if (seen.has(pid) || depth > 16 || out.length > 4096) return;
    seen.add(pid);
    out.push(pid);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      const kids = readText(`/proc/${pid}/task/${tid}/children`) ?? '';
      for (const k of kids.split(/\s+/)) if (k !== '') visit(Number(k), depth + 1);
    }
  };
  visit(root, 0);
  return out;
}

/** utime+stime+cutime+cstime of one process, in seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return 0;
  // the command name (field 2) may contain spaces and ")": fields start after the last ")"
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3]
  const ticks = [14, 15, 16, 17].reduce((sum, f) => sum + Number(rest[f - 3] ?? 0), 0);
  return ticks / clockTicks();
}

/** CPU seconds used so far by the trees under `roots` (see the header for how exits count). */
export function treeCpuSeconds(roots: readonly number[]): number {
  let sum = 0;
  for (const root of roots) for (const pid of processTree(root)) sum += processCpuSeconds(pid);
  return sum;
}

/** Resident bytes summed over the trees under `roots`, and how many processes they hold. */
export function treeRss(roots: readonly number[]): { bytes: number; processes: number } {
  let bytes = 0;
  let processes = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const statm = readText(`/proc/${pid}/statm`);
      if (statm === undefined) continue;
      bytes += Number(statm.split(' ')[1] ?? 0) * pageBytes();
      processes++;
    }
  }
  return { bytes, processes };
}

/** Proportional set size (Pss in /proc/PID/smaps_rollup) summed over the trees, in bytes. */
export function treePss(roots: readonly number[]): number {
  let bytes = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const m = /^Pss:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/smaps_rollup`) ?? '');
      if (m !== null) bytes += Number(m[1]) * 1024;
    }
  }
  return bytes;
}
