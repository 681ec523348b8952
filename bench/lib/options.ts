// The command-line flags of the bench suites, parsed one way for all of them: node:util parseArgs
// (strict: an unknown flag or a positional argument fails), then each suite's preset overridden flag
// by flag with these converters, then checked with the same range errors ("SUITE bench: NAME must
// be an integer in MIN..MAX, got V"). The environment knobs shared by the suites are read here too.
// Trusts: nothing; the numbers are checked by each suite's check function before a run.
// Fails: parseArgs throws on an unknown flag or a missing value; the checks throw naming the option.
import { parseArgs } from 'node:util';

/** Flag name → kind; every suite also takes --quick and --out. */
export type FlagSpec = Readonly<Record<string, 'string' | 'boolean'>>;

export type FlagValues<S extends FlagSpec> = { readonly [K in keyof S]?: S[K] extends 'boolean' ? boolean : string } & { readonly quick: boolean; readonly out?: string };

/** Parses argv against `spec` plus --quick and --out. */
export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): FlagValues<S> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { quick: { type: 'boolean' }, out: { type: 'string' } };
  for (const [name, type] of Object.entries(spec)) options[name] = { type };
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  return { ...values, quick: values['quick'] === true } as FlagValues<S>;
}

/** "a, b" → ["a", "b"]; undefined stays undefined. */
export function list(v: string | undefined): string[] | undefined {
  return v?.split(',').map((x) => x.trim());
}

/** "20,100" → [20, 100] (NaN for junk: the suite's check names it). */
export function numbers(v: string | undefined): number[] | undefined {
  return list(v)?.map(Number);
}

/** "20" → 20 (NaN for junk). */
export function int(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** "90", "90s", "5m", "1h" → seconds; undefined for undefined; throws on anything else. */
export function seconds(suite: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (m === null) throw new Error(`${suite} bench: --${name} must be a duration such as 30s, 5m or 1h, got ${v}`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** The checks of one suite's options; every error starts with "SUITE bench: ". */
export function checks(suite: string): {
  int(name: string, v: number, min: number, max: number): void;
  range(name: string, v: number, min: number, max: number): void;
  oneOf<T extends string>(what: string, values: readonly T[], allowed: readonly T[], showAllowed?: boolean): void;
  nonEmpty(what: string, values: readonly unknown[]): void;
} {
  const fail = (text: string): never => {
    throw new Error(`${suite} bench: ${text}`);
  };
  return {
    int: (name, v, min, max) => {
      if (!Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer in ${min}..${max}, got ${v}`);
    },
    range: (name, v, min, max) => {
      if (!Number.isFinite(v) || v < min || v > max) fail(`${name} must be in ${min}..${max}, got ${v}`);
    },
    oneOf: (what, values, allowed, showAllowed = true) => {
      for (const v of values) if (!allowed.includes(v)) fail(`unknown ${what} ${v}${showAllowed ? ` (${allowed.join(', ')})` : ''}`);
    },
    nonEmpty: (what, values) => {
      if (values.length === 0) fail(`no ${what}`);
    },
  };
}

/** Progress lines on stderr, as every suite prints them. */
export function stderrLog(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** MOAT_BENCH_CONFIG (JSON): config keys merged over Moat's bench config, as an options fragment. */
export function moatConfigFromEnv(): { moatConfig?: Record<string, unknown> } {
  const v = process.env['MOAT_BENCH_CONFIG'];
  return v !== undefined ? { moatConfig: JSON.parse(v) as Record<string, unknown> } : {};
}

/** MOAT_BENCH_NODE_ARGS: extra node flags for Moat (e.g. --cpu-prof), split on white space. */
export function moatNodeArgsFromEnv(): string[] {
  return (process.env['MOAT_BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
}
