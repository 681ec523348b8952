// Moat under test: its own config in a scratch dir (every content check at its defaults: the whole
// end-of-data pipeline as `moat scan` runs it; the sender-authentication checks off, since old
// corpus mail has no live DNS and their lookups would only time out), DNS to the local stub.
// Trains with `moat learn` (the CLI, the code path operators use), scans with `moat scan --json`
// (worker threads on every core). Flagged: action tag, quarantine or reject.
// Fails: throws when a command exits non-zero or prints a line that is not JSON.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { moatBin } from '../lib/paths.js';
import type { Layout, Outcome, SystemRun } from './layout.js';

const run = promisify(execFile);

export interface MoatOptions {
  /** "127.0.0.1:PORT" of the DNS stub. */
  readonly dns: string;
  readonly log: (line: string) => void;
  /** Extra node flags (e.g. --cpu-prof) for the scan. */
  readonly nodeArgs?: readonly string[];
}

/** The config file; with `clamav` ("127.0.0.1:PORT" of a clamd) a second one using that antivirus, same dataDir. */
export async function writeMoatConfig(dir: string, dns: string, clamav?: string): Promise<string> {
  const file = join(dir, clamav === undefined ? 'moat.yaml' : 'moat-clamd.yaml');
  await writeFile(
    file,
    [
      'hostname: mx.bench.test',
      'listen: [{ address: "127.0.0.1:2525" }]',
      'domains: { bench.test: { relay: ["127.0.0.1:2526"] } }',
      `dataDir: ${join(dir, 'moat-data')}`,
      `dns: { servers: ["${dns}"] }`,
      'checks: { spf: { enabled: false }, senderDomain: { enabled: false }, auth: { enabled: false } }',
      ...(clamav === undefined ? [] : [`clamav: { address: "${clamav}" }`]),
      '',
    ].join('\n'),
  );
  return file;
}

async function moat(args: readonly string[], nodeArgs: readonly string[] = []): Promise<string> {
  try {
    const r = await run(process.execPath, [...nodeArgs, moatBin(), ...args], { maxBuffer: 1 << 30, timeout: 3_600_000 });
    return r.stdout;
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    // scan exits 1 when one message failed; its lines still say which.
    if (args[0] === 'scan' && x.code === 1 && x.stdout) return x.stdout;
    throw new Error(`moat ${args.join(' ')} failed (${x.code}): ${(x.stderr ?? '').slice(-2000)}`, { cause: e });
  }
}

export async function version(): Promise<string> {
  return (await moat(['--version'])).trim();
}

/** Trains on layout.train; returns the seconds it took and what `moat learn` printed. */
export async function trainMoat(layout: Layout, config: string, log: (line: string) => void): Promise<number> {
  const t0 = performance.now();
  for (const label of ['spam', 'ham'] as const) {
    const out = await moat(['learn', '--config', config, label, layout.path('train', label)]);
    log(`moat learn ${label}: ${out.trim().replace(/\n/g, '; ')}`);
  }
  return (performance.now() - t0) / 1000;
}

interface ScanLine {
  readonly file: string;
  readonly score: number;
  readonly action: string;
  readonly error?: string;
}

/** Scans every file under `paths` with `moat scan --json`; outcome per file and the wall time. */
export async function scanMoat(paths: readonly string[], config: string, nodeArgs: readonly string[] = []): Promise<{ lines: ScanLine[]; seconds: number }> {
  const t0 = performance.now();
  const out = await moat(['scan', '--config', config, '--json', ...paths], nodeArgs);
  const seconds = (performance.now() - t0) / 1000;
  const lines = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ScanLine);
  return { lines, seconds };
}

export async function runMoat(layout: Layout, o: MoatOptions): Promise<SystemRun> {
  const config = await writeMoatConfig(layout.dir, o.dns);
  const trainSeconds = await trainMoat(layout, config, o.log);
  o.log('moat: scanning the test split');
  const { lines, seconds } = await scanMoat([layout.path('test', 'ham'), layout.path('test', 'spam')], config, o.nodeArgs);
  const byFile = new Map(lines.map((l) => [l.file, l]));
  const results: Outcome[] = layout.test.map((m) => {
    const l = byFile.get(layout.file('test', m));
    if (!l || l.error !== undefined) throw new Error(`moat scan: no result for ${m.name}${l?.error ? `: ${l.error}` : ''}`);
    return { name: m.name, label: m.label, score: l.score, flagged: l.action === 'tag' || l.action === 'quarantine' || l.action === 'reject' };
  });
  return {
    system: 'moat',
    version: `Moat ${await version()}`,
    setup: 'moat learn on train, moat scan --json (worker threads), content checks at their defaults, sender auth off, DNS to a local stub',
    trainSeconds,
    scanSeconds: seconds,
    concurrency: 0,
    results,
  };
}
