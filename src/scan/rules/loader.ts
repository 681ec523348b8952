/**
 * Where rule files come from, in load order: the shipped set (embedded in shipped.ts, no I/O), the
 * `*.cf` files of `spamassassinDir` in name order, then the operator's `files`. Reading goes
 * through a port, asynchronously for the running check (on first use) and synchronously for
 * config validation only (check-config, config load, `moat symbols`), which is where an unreadable
 * file or directory becomes a config error with its path. A file that is not valid UTF-8 is read
 * as latin1 (older SA files are). Never throws: every failure is returned.
 */
import type { RulesConfig } from './config.js';
import type { RuleSource } from './parser.js';
import { SHIPPED_FILES } from './shipped.js';

export interface RuleFiles {
  read(path: string): Promise<Buffer>;
  list(dir: string): Promise<string[]>;
}

export interface RuleFilesSync {
  read(path: string): Buffer;
  list(dir: string): string[];
}

export interface Unreadable {
  /** Config path of the setting that named it, e.g. "checks.rules.files[1]". */
  readonly configPath: string;
  readonly path: string;
  readonly error: string;
}

export interface LoadedSources {
  readonly sources: readonly RuleSource[];
  readonly unreadable: readonly Unreadable[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeRuleFile(b: Buffer): string {
  try {
    return utf8.decode(b);
  } catch {
    return b.toString('latin1');
  }
}

function reason(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
}

/** The same walk for both ports: `step` runs a read or a listing and hands back its result or error. */
function* plan(config: RulesConfig): Generator<{ op: 'list' | 'read'; path: string; configPath: string }, void, unknown> {
  if (config.spamassassinDir !== null) yield { op: 'list', path: config.spamassassinDir, configPath: 'checks.rules.spamassassinDir' };
  for (const [i, f] of config.files.entries()) yield { op: 'read', path: f, configPath: `checks.rules.files[${i}]` };
}

type Step = { ok: true; value: Buffer | string[] } | { ok: false; error: string };

function walk(config: RulesConfig, run: (op: 'list' | 'read', path: string) => Step): LoadedSources {
  const sources: RuleSource[] = config.shipped ? SHIPPED_FILES.map((f) => ({ file: f.file, text: f.text })) : [];
  const unreadable: Unreadable[] = [];
  for (const s of plan(config)) {
    const r = run(s.op, s.path);
    if (!r.ok) {
      unreadable.push({ configPath: s.configPath, path: s.path, error: r.error });
      continue;
    }
    if (s.op === 'read') {
      sources.push({ file: s.path, text: decodeRuleFile(r.value as Buffer) });
      continue;
    }
    for (const name of (r.value as string[]).filter((n) => n.endsWith('.cf')).sort()) {
      const file = `${s.path.replace(/\/+$/, '')}/${name}`;
      const f = run('read', file);
      if (f.ok) sources.push({ file, text: decodeRuleFile(f.value as Buffer) });
      else unreadable.push({ configPath: s.configPath, path: file, error: f.error });
    }
  }
  return { sources, unreadable };
}

export function loadSourcesSync(config: RulesConfig, fs: RuleFilesSync): LoadedSources {
  return walk(config, (op, path) => {
    try {
      return { ok: true, value: op === 'read' ? fs.read(path) : fs.list(path) };
    } catch (e) {
      return { ok: false, error: reason(e) };
    }
  });
}

export async function loadSources(config: RulesConfig, fs: RuleFiles): Promise<LoadedSources> {
  // Read everything first (async), then walk the same plan over the results.
  const results = new Map<string, Step>();
  const get = async (op: 'list' | 'read', path: string): Promise<Step> => {
    try {
      return { ok: true, value: op === 'read' ? await fs.read(path) : await fs.list(path) };
    } catch (e) {
      return { ok: false, error: reason(e) };
    }
  };
  for (const s of plan(config)) {
    const r = await get(s.op, s.path);
    results.set(`${s.op}:${s.path}`, r);
    if (s.op === 'list' && r.ok) {
      for (const name of (r.value as string[]).filter((n) => n.endsWith('.cf'))) {
        const file = `${s.path.replace(/\/+$/, '')}/${name}`;
        results.set(`read:${file}`, await get('read', file));
      }
    }
  }
  return walk(config, (op, path) => results.get(`${op}:${path}`) ?? { ok: false, error: 'not read' });
}
