// Haraka, the third anchor, installed on demand: never a dependency of Moat (`npm ci` stays lean).
// The pinned manifest and lockfile live in bench/haraka/; `npm ci` copies them into the
// git-ignored cache bench/.cache/haraka and installs there (no optional plugins, no dev
// dependencies, no install scripts: the bench uses only Haraka's core and its bundled plugins).
// A cache whose stamp matches the lockfile is reused without touching the network. Two suites
// (e.g. the smoke tests, run in parallel by vitest) may ask at once: a lock directory
// (bench/.cache/haraka.lock, holding the owner's PID; a dead owner's lock is taken over) lets one
// install while the other waits, then reuses.
// Trusts: npm on the PATH (the one that runs `npm test`) and its own registry configuration.
// Fails: never throws; an install that fails (offline, registry down) or takes longer than
// timeoutMs resolves { ok: false, reason } with npm's last lines, so the caller can say why it
// skips Haraka. A half-written cache is removed before retrying, never reused.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from '../../test/harness/index.js';
import { projectRoot } from './paths.js';

export type HarakaInstall =
  | { readonly ok: true; readonly dir: string; readonly bin: string; readonly version: string; readonly reused: boolean }
  | { readonly ok: false; readonly reason: string };

/** Where Haraka's pinned manifest lives in the repository. */
export function harakaManifestDir(root: string = projectRoot()): string {
  return join(root, 'bench', 'haraka');
}

/** The git-ignored install folder. */
export function harakaCacheDir(root: string = projectRoot()): string {
  return join(root, 'bench', '.cache', 'haraka');
}

// npm run exports these for the project's own package; the child npm must not see them
const FOREIGN_NPM_ENV = /^npm_(package_|lifecycle_|config_(local_prefix|prefix|global)$)/i;

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !FOREIGN_NPM_ENV.test(k)) env[k] = v;
  return env;
}

async function installedVersion(dir: string): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await readFile(join(dir, 'node_modules', 'Haraka', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the install lock (mkdir is atomic), waiting up to `timeoutMs`; resolves with its release. */
async function lock(dir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const path = `${dir}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), `${process.pid}\n`);
      return () => rm(path, { recursive: true, force: true });
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(join(path, 'pid'), 'utf8').catch(() => '')).trim());
    // no pid yet: the owner is between mkdir and writeFile, or died there; wait a little either way
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(path, { recursive: true, force: true });
    if (performance.now() > deadline) throw new Error(`${path} still held by pid ${owner} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Installs Haraka into the cache unless a matching install is there; see the header. */
export async function ensureHaraka(opts: { readonly timeoutMs?: number; readonly log?: (line: string) => void } = {}): Promise<HarakaInstall> {
  const dir = harakaCacheDir();
  let release: () => Promise<void>;
  try {
    release = await lock(dir, (opts.timeoutMs ?? 180_000) + 30_000);
  } catch (err: unknown) {
    return { ok: false, reason: `could not lock the Haraka cache: ${String(err)}` };
  }
  try {
    return await installLocked(dir, opts);
  } finally {
    await release();
  }
}

async function installLocked(dir: string, opts: { readonly timeoutMs?: number; readonly log?: (line: string) => void }): Promise<HarakaInstall> {
  const src = harakaManifestDir();
  const stampFile = join(dir, '.installed-lock-sha256');
  const bin = join(dir, 'node_modules', 'Haraka', 'bin', 'haraka');
  let lock: string;
  try {
    lock = await readFile(join(src, 'package-lock.json'), 'utf8');
  } catch (err: unknown) {
    return { ok: false, reason: `no Haraka lockfile in ${src}: ${String(err)}` };
  }
  const stamp = createHash('sha256').update(lock).digest('hex');
  const stamped = await readFile(stampFile, 'utf8').catch(() => '');
  const version = await installedVersion(dir);
  if (stamped.trim() === stamp && version !== undefined && existsSync(bin)) return { ok: true, dir, bin, version, reused: true };

  opts.log?.(`installing Haraka into ${dir} (npm ci, once; reused afterwards)`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await copyFile(join(src, 'package.json'), join(dir, 'package.json'));
  await copyFile(join(src, 'package-lock.json'), join(dir, 'package-lock.json'));
  const args = ['ci', '--prefix', dir, '--omit=optional', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  let reason: string | undefined;
  try {
    const r = await runCommand('npm', args, { timeoutMs: opts.timeoutMs ?? 180_000, cwd: dir, env: childEnv() });
    if (r.code !== 0) reason = `npm ${args.join(' ')} exited ${String(r.code)}: ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join(' | ')}`;
  } catch (err: unknown) {
    reason = err instanceof Error ? err.message.split('\n').slice(0, 8).join(' | ') : String(err);
  }
  const got = await installedVersion(dir);
  if (reason === undefined && (got === undefined || !existsSync(bin))) reason = `npm ci finished but ${bin} is missing`;
  if (reason !== undefined || got === undefined) {
    await rm(dir, { recursive: true, force: true });
    return { ok: false, reason: reason ?? 'Haraka install failed' };
  }
  await writeFile(stampFile, `${stamp}\n`);
  return { ok: true, dir, bin, version: got, reused: false };
}

/** For a suite: installs Haraka when `systems` asks for it; says why and drops it when that fails. */
export async function harakaForSuite<S extends string>(
  systems: readonly S[],
  log: (line: string) => void,
): Promise<{ readonly bin: string | undefined; readonly version: string | undefined; readonly skipped: readonly { readonly system: S; readonly reason: string }[] }> {
  const haraka = systems.find((s) => s === 'haraka');
  if (haraka === undefined) return { bin: undefined, version: undefined, skipped: [] };
  const h = await ensureHaraka({ log });
  if (h.ok) return { bin: h.bin, version: h.version, skipped: [] };
  log(`Haraka skipped: it could not be installed: ${h.reason}`);
  return { bin: undefined, version: undefined, skipped: [{ system: haraka, reason: h.reason }] };
}
