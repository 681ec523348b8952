/**
 * Reading and validating a config file. Every problem is reported with its path ("limits.maxRecipients:
 * expected a number"), all at once, so check-config shows the whole list. The result is deep-frozen.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { checksForValidation } from '../checks/index.js';
import type { CheckEntry } from '../pipeline/runner.js';
import type { RulesCheck } from '../scan/rules/index.js';
import { PolicyError } from '../pipeline/policy.js';
import { createPolicy } from '../pipeline/runner.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigError {
  readonly path: string;
  readonly message: string;
}

export type LoadResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly ConfigError[] }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** Rule files are read during validation (their rules' symbols must be known to the policy). */
const RULE_FILES = { read: (p: string) => readFileSync(p), list: (d: string) => readdirSync(d) };

export async function loadConfig(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { ok: false, errors: [{ path: '(file)', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }] };
  }
  return parseConfigText(text);
}

export function parseConfigText(text: string): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => ({ path: `(yaml line ${e.linePos?.[0]?.line ?? '?'})`, message: e.message.split('\n')[0] ?? e.message })) };
  }
  return validateConfig(doc.toJS());
}

export function validateConfig(raw: unknown): LoadResult {
  // Parsed once per process: zod's eval-compiled fast path for each object schema costs more to
  // build (about 0.3 s CPU over this schema) than it saves on a single parse.
  const r = configSchema.safeParse(raw ?? {}, { jitless: true });
  if (!r.success) return { ok: false, errors: r.error.issues.map(toError) };
  // The policy names symbols that only the configured checks know; checks refuse entries the schema cannot judge.
  let warnings: readonly ConfigError[];
  try {
    // Building the checks may refuse entries too (PolicyError), so it sits inside the try.
    const checks = checksForValidation(r.data.checks, r.data.domains, r.data, r.data.outbound, RULE_FILES);
    // Rule files: an unreadable one is an error of the setting that names it; a broken rule only a warning (it is skipped).
    const rules = ruleReport(checks);
    if (rules.errors.length > 0) return { ok: false, errors: rules.errors };
    warnings = rules.warnings;
    createPolicy(checks, r.data.policy, r.data.outbound.policy);
    const names = new Set(checks.map((c) => c.check.name));
    const unknown = r.data.outbound.skipChecks.findIndex((n) => !names.has(n));
    if (unknown >= 0) return { ok: false, errors: [{ path: `outbound.skipChecks[${unknown}]`, message: `unknown check (known: ${[...names].join(', ')})` }] };
  } catch (e) {
    if (e instanceof PolicyError) return { ok: false, errors: [{ path: e.path, message: e.message.slice(e.path.length + 2) }] };
    throw e;
  }
  return { ok: true, config: deepFreeze(r.data), warnings };
}

function ruleReport(checks: readonly CheckEntry[]): { errors: ConfigError[]; warnings: ConfigError[] } {
  const rules = checks.map((e) => e.check).find((c): c is RulesCheck => c.name === 'rules' && 'sourcesRead' in c);
  const read = rules?.sourcesRead;
  const report = rules?.report();
  return {
    errors: (read?.unreadable ?? []).map((u) => ({ path: u.configPath, message: `cannot read ${u.path}: ${u.error}` })),
    warnings: (report?.problems ?? []).map((p) => ({ path: 'checks.rules', message: `${p.file}:${p.line}: ${p.message}` })),
  };
}

function toError(issue: z.core.$ZodIssue): ConfigError {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return { path: path || '(root)', message: issue.message };
}

export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('\n');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
