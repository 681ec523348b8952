// The open-files limit (RLIMIT_NOFILE) of this process, raised when a suite needs more sockets.
// Node already lifts its soft limit to the hard limit at startup; gateways started afterwards
// inherit this process's limits, so raising ours (with util-linux prlimit on our own PID) raises
// theirs too. Raising the hard limit needs root (CAP_SYS_RESOURCE).
// Trusts: /proc/self/limits and /usr/bin/prlimit. Fails: never throws; the result says what the
// limit is after the attempt, and the caller decides whether that is enough.
import { readFileSync } from 'node:fs';
import { runCommand } from '../../test/harness/index.js';

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

function parse(v: string | undefined): number {
  return v === undefined || v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** This process's RLIMIT_NOFILE from /proc/self/limits. */
export function fdLimit(): FdLimit {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const f = line?.split(/\s{2,}/) ?? [];
    return { soft: parse(f[1]), hard: parse(f[2]) };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

/** Raises this process's soft (and, if needed and allowed, hard) limit to at least `need`. */
export async function raiseFdLimit(need: number): Promise<FdLimit & { readonly raised: boolean }> {
  const before = fdLimit();
  if (before.soft >= need) return { ...before, raised: false };
  const hard = Math.max(before.hard, need);
  await runCommand('/usr/bin/prlimit', ['--pid', String(process.pid), `--nofile=${need}:${hard}`], { timeoutMs: 10_000 }).catch(() => undefined);
  const after = fdLimit();
  return { ...after, raised: after.soft > before.soft };
}
