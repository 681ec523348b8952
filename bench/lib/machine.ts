// What machine a benchmark ran on: cores, memory, kernel, the file system holding the scratch
// dirs (spools live there), the load average when the run started (a busy box shows here), Node,
// Postfix and (when installed) Haraka versions.
// Trusts: node:os, /proc/mounts and `postconf -d mail_version` (reads no instance's config; local only).
// Fails: never; anything it cannot read is reported as "unknown".
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly postfix: string;
  /** The Haraka the suite installed, when it ran. */
  readonly haraka?: string;
  /** File system type and device of the temp dir, e.g. "ext4 on /dev/vda". */
  readonly scratchFs?: string;
  /** 1-minute load average when the suite started. */
  readonly loadAtStart?: number;
}

function postfixVersion(): string {
  try {
    const out = execFileSync('/usr/sbin/postconf', ['-d', 'mail_version'], { encoding: 'utf8', timeout: 10_000 });
    return /=\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The mount holding `dir` (longest mount-point prefix in /proc/mounts). */
export function fileSystemOf(dir: string): string {
  try {
    let best: { point: string; text: string } | undefined;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, point, type] = line.split(' ');
      if (dev === undefined || point === undefined || type === undefined) continue;
      const inside = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
      if (inside && (best === undefined || point.length >= best.point.length)) best = { point, text: `${type} on ${dev}` };
    }
    return best?.text ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineInfo(extra: { readonly haraka?: string } = {}): MachineInfo {
  return {
    ...extra,
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    postfix: postfixVersion(),
    scratchFs: fileSystemOf(tmpdir()),
    loadAtStart: loadAverage(),
  };
}

/** The 1-minute load average now, to two decimals. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** The 1-minute load average when a measured stretch started and when it ended. */
export interface LoadSpan {
  readonly atStart: number;
  readonly atEnd: number;
}

/** Runs `f` and returns its value with the load averages around it. */
export async function withLoadSpan<T>(f: () => Promise<T>): Promise<{ readonly value: T; readonly load: LoadSpan }> {
  const atStart = loadAverage();
  const value = await f();
  return { value, load: { atStart, atEnd: loadAverage() } };
}

/** "14.1–15.3", the span for a table cell; "not recorded" for an older result. */
export function formatLoadSpan(l: LoadSpan | undefined): string {
  return l === undefined ? 'not recorded' : `${l.atStart.toFixed(1)}–${l.atEnd.toFixed(1)}`;
}
