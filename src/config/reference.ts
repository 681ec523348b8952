/**
 * The config reference, generated from the schema (CONVENTIONS.md 8) so the docs cannot drift:
 * `npm run docs:config` writes docs/config.md, and a test fails when that file is stale.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
}

interface Row {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly def: string;
  readonly description: string;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) {
    const kinds = s.anyOf.map(typeOf);
    return kinds.includes('number') && kinds.includes('string') && kinds.length === 2 ? 'duration' : kinds.join(' \\| ');
  }
  if (s.oneOf) return s.oneOf.every((o) => o.type === 'object') ? 'object' : s.oneOf.map(typeOf).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function walk(s: JsonSchema, path: string, required: boolean, rows: Row[]): void {
  const isLeaf = !(s.type === 'object' && (s.properties || typeof s.additionalProperties === 'object')) && !(s.type === 'array' && s.items?.type === 'object');
  const def = s.default === undefined || (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0) ? '' : JSON.stringify(s.default);
  if (path && (isLeaf || s.description)) rows.push({ path, type: typeOf(s), required, def, description: s.description ?? '' });
  if (s.type === 'object' && s.properties) {
    for (const [k, v] of Object.entries(s.properties)) walk(v, path ? `${path}.${k}` : k, (s.required ?? []).includes(k), rows);
  }
  if (s.type === 'object' && typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}.<name>`, true, rows);
  if (s.type === 'array' && s.items?.type === 'object') walk(s.items, `${path}[]`, true, rows);
  // A list of variants told apart by their "type" key (a discriminated union): one block per variant.
  for (const v of s.type === 'array' ? (s.items?.oneOf ?? []) : []) {
    const tag = v.properties?.['type']?.const;
    if (typeof tag === 'string') walk(v, `${path}[type=${tag}]`, true, rows);
  }
}

export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  walk(schema, '', true, rows);
  const esc = (t: string): string => t.replace(/\|/g, '\\|');
  return [
    '# Configuration reference',
    '',
    'Generated from the schema in `src/config/` by `npm run docs:config`; do not edit by hand.',
    'Durations are seconds (a number) or a string with a unit: `"500ms"`, `"30s"`, `"5m"`, `"4h"`, `"5d"`.',
    'Unknown keys are errors, so a typo is caught by `moat check-config`.',
    '',
    '| key | type | required | default | meaning |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.required && !r.def ? 'yes' : ''} | ${r.def ? `\`${esc(r.def)}\`` : ''} | ${esc(r.description)} |`),
    '',
  ].join('\n');
}
