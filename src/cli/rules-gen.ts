/** Writes src/scan/rules/shipped.ts from rules/moat/*.cf to stdout (npm run rules:gen). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateShipped } from '../scan/rules/generate.js';

/** The repository root from dist/src/cli or src/cli. */
const root = join(import.meta.dirname, ...(import.meta.dirname.includes(`${'/'}dist${'/'}`) ? ['..', '..', '..'] : ['..', '..']));

export function shippedRuleFiles(): { file: string; text: string }[] {
  const dir = join(root, 'rules', 'moat');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cf'))
    .sort()
    .map((f) => ({ file: `rules/moat/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) process.stdout.write(generateShipped(shippedRuleFiles()));
