// Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time per function, summed over
// every profile given (e.g. all of Moat's workers), as a Markdown table of the top entries.
// Usage: node dist/bench/profile-summary.js FILE_OR_DIR... [--top N]
// Trusts: the Chrome DevTools CPU profile format (nodes with callFrame and hitCount; samples and
// timeDeltas). Fails: exits 2 on no input; a file that does not parse is named and skipped.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './lib/paths.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface HotSpot {
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

function isProfile(v: unknown): v is CpuProfile {
  return typeof v === 'object' && v !== null && Array.isArray((v as { nodes?: unknown }).nodes);
}

function frameName(f: CallFrame, root: string): string {
  const url = f.url.startsWith('file://') ? relative(root, new URL(f.url).pathname) : f.url;
  const fn = f.functionName === '' ? '(anonymous)' : f.functionName;
  return url === '' ? fn : `${url}:${fn}:${f.lineNumber + 1}`;
}

/** Self time per function over the given profiles, biggest first. */
export function hotSpots(profiles: readonly CpuProfile[], root = projectRoot()): HotSpot[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i] ?? -1);
      // the delta before sample i+1 is the time spent in sample i
      const us = deltas[i + 1] ?? 0;
      if (node === undefined || us <= 0) continue;
      const key = frameName(node.callFrame, root);
      self.set(key, (self.get(key) ?? 0) + us / 1000);
      total += us / 1000;
    }
  }
  return [...self.entries()]
    .map(([where, selfMs]) => ({ where, selfMs, share: total > 0 ? selfMs / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

function files(args: readonly string[]): string[] {
  return args.flatMap((a) =>
    statSync(a).isDirectory()
      ? readdirSync(a)
          .filter((n) => n.endsWith('.cpuprofile'))
          .map((n) => join(a, n))
      : [a],
  );
}

function main(argv: readonly string[]): number {
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1] ?? 30) : 30;
  const inputs = argv.filter((_, i) => i !== topAt && i !== topAt + 1);
  const profiles: CpuProfile[] = [];
  for (const f of files(inputs)) {
    try {
      const v: unknown = JSON.parse(readFileSync(f, 'utf8'));
      if (isProfile(v)) profiles.push(v);
      else process.stderr.write(`${f}: not a CPU profile\n`);
    } catch (err: unknown) {
      process.stderr.write(`${f}: ${String(err)}\n`);
    }
  }
  if (profiles.length === 0) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE_OR_DIR... [--top N]\n');
    return 2;
  }
  const lines = ['| self ms | share | function |', '|---:|---:|---|'];
  for (const h of hotSpots(profiles).slice(0, top)) lines.push(`| ${h.selfMs.toFixed(0)} | ${(h.share * 100).toFixed(1)}% | ${h.where} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
