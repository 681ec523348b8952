// What machine a benchmark ran on: cores, memory, kernel, Node, Postfix and (when installed) Haraka versions.
// Trusts: node:os and `postconf -d mail_version` (reads no instance's config; local only).
// Fails: never; an unknown Postfix version is reported as "unknown".
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly postfix: string;
  /** The Haraka the suite installed, when it ran. */
  readonly haraka?: string;
}

function postfixVersion(): string {
  try {
    const out = execFileSync('/usr/sbin/postconf', ['-d', 'mail_version'], { encoding: 'utf8', timeout: 10_000 });
    return /=\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
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
  };
}
