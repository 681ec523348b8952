// Rule quality and cost on the SpamAssassin corpus (`npm run bench:rules`, docs/rules.md): per
// rule its score, hits on ham and spam of the split (train by default: tune only there), the share
// of ham it hits (flagged when above 0.5% with a score above 1) and its time; then the rule pass's
// messages/s and how many ham and spam the set hits at all, and at a total of 5 or more.
// Rules: rules/moat/*.cf as they are on disk (not the generated module), plus --sa DIR and --file F.
// Usage: node dist/bench/rules-hits.js [--split train|test] [--limit N] [--sa DIR] [--file F]…
//        [--no-shipped] [--all] [--json FILE]
// Fails: exit 1 when the corpus cannot be installed or a rule file not read.
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { messageView } from '../src/pipeline/message.js';
import { compileRules } from '../src/scan/rules/compiler.js';
import { evaluate, prepare } from '../src/scan/rules/evaluator.js';
import { buildInput, type RuleInput } from '../src/scan/rules/input.js';
import { decodeRuleFile } from '../src/scan/rules/loader.js';
import type { RuleSource } from '../src/scan/rules/parser.js';
import { corpusDir, normalizeCorpusFile } from './mime/corpus.js';
import { projectRoot } from './lib/paths.js';

const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'train' },
    limit: { type: 'string' },
    sa: { type: 'string' },
    file: { type: 'string', multiple: true },
    'no-shipped': { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
if (values.split !== 'train' && values.split !== 'test') throw new Error('--split train|test');
const root = projectRoot();
const limit = values.limit ? Number(values.limit) : Infinity;

function cf(dir: string, label: (f: string) => string): RuleSource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cf'))
    .sort()
    .map((f) => ({ file: label(f), text: decodeRuleFile(readFileSync(join(dir, f))) }));
}
const sources: RuleSource[] = [
  ...(values['no-shipped'] ? [] : cf(join(root, 'rules', 'moat'), (f) => `rules/moat/${f}`)),
  ...(values.sa ? cf(values.sa, (f) => join(values.sa as string, f)) : []),
  ...(values.file ?? []).map((f) => ({ file: f, text: decodeRuleFile(readFileSync(f)) })),
];
const { set, report } = compileRules(sources, { scoreSet: 3, taken: new Set() });
process.stdout.write(`rules: ${report.loaded} loaded (${report.symbols} symbols), skipped ${JSON.stringify(report.skipped)}, ${report.problems.length} problems\n`);
for (const p of report.problems.slice(0, 10)) process.stdout.write(`  ${p.file}:${p.line}: ${p.message}\n`);
const prepared = prepare(set);

const data = await corpusDir((l) => process.stdout.write(`${l}\n`));
const list = (kind: 'ham' | 'spam'): string[] => readFileSync(join(root, 'bench', 'data', 'corpus', `${values.split}-${kind}.txt`), 'utf8').trim().split('\n').slice(0, limit);
const messages = [...list('ham').map((f) => ({ f, spam: false })), ...list('spam').map((f) => ({ f, spam: true }))];

const inputs: { spam: boolean; input: RuleInput }[] = [];
let t = performance.now();
for (const m of messages) {
  const raw = normalizeCorpusFile(readFileSync(join(data, `${m.f}.txt`)));
  const view = messageView(raw, raw.length, async function* () {});
  inputs.push({ spam: m.spam, input: buildInput(view, await view.mime(), null, set.needs) });
}
const inputMs = performance.now() - t;

const timings = new Float64Array(prepared.rules.length);
const hits = new Map<string, [number, number]>();
const scoreOf = new Map(set.symbols.map((s) => [s.name, s.score]));
const any: [number, number] = [0, 0];
const over5: [number, number] = [0, 0];
let worst = 0;
t = performance.now();
for (const { spam, input } of inputs) {
  const r = evaluate(prepared, input, { budgetMs: Infinity, now: () => performance.now(), timings });
  worst = Math.max(worst, r.elapsedMs);
  const k = spam ? 1 : 0;
  if (r.hits.length > 0) any[k]++;
  if (r.hits.reduce((s, h) => s + (scoreOf.get(h.name) ?? 0), 0) >= 5) over5[k]++;
  for (const h of r.hits) {
    const e = hits.get(h.name) ?? [0, 0];
    e[k]++;
    hits.set(h.name, e);
  }
}
const evalMs = performance.now() - t;
const hamN = messages.filter((m) => !m.spam).length;
const spamN = messages.length - hamN;
const costOf = new Map<string, number>();
prepared.rules.forEach((p, i) => costOf.set(p.rule.name, (timings[i] ?? 0) / messages.length));

const rows = set.symbols
  .map((s) => {
    const [h, sp] = hits.get(s.name) ?? [0, 0];
    return { name: s.name, score: s.score, ham: h, spam: sp, hamPct: (100 * h) / hamN, spamPct: (100 * sp) / spamN, usPerMsg: (costOf.get(s.name) ?? 0) * 1000 };
  })
  .filter((r) => values.all || r.ham + r.spam > 0 || r.name.startsWith('MOAT_'))
  .sort((a, b) => b.spam - a.spam || a.ham - b.ham);
const pad = (s: string | number, n: number): string => String(s).padStart(n);
process.stdout.write(`\n${values.split} split: ${hamN} ham, ${spamN} spam\n`);
process.stdout.write(`${'rule'.padEnd(34)} ${pad('score', 6)} ${pad('ham', 5)} ${pad('ham%', 6)} ${pad('spam', 5)} ${pad('spam%', 6)} ${pad('us/msg', 8)}\n`);
for (const r of rows) {
  const flag = r.hamPct > 0.5 && r.score > 1 ? '  << ham > 0.5% with score > 1' : '';
  process.stdout.write(`${r.name.padEnd(34)} ${pad(r.score.toFixed(2), 6)} ${pad(r.ham, 5)} ${pad(r.hamPct.toFixed(2), 6)} ${pad(r.spam, 5)} ${pad(r.spamPct.toFixed(1), 6)} ${pad(r.usPerMsg.toFixed(1), 8)}${flag}\n`);
}
const slow = [...costOf].sort((a, b) => b[1] - a[1]).slice(0, 5);
process.stdout.write(`\nslowest rules (ms per message): ${slow.map(([n, ms]) => `${n} ${ms.toFixed(3)}`).join(', ')}\n`);
process.stdout.write(`rule pass: ${((1000 * messages.length) / evalMs).toFixed(0)} messages/s (worst ${worst.toFixed(1)} ms); with MIME parse and rule input: ${((1000 * messages.length) / (evalMs + inputMs)).toFixed(0)} messages/s (one core)\n`);
process.stdout.write(`hit by at least one rule: ham ${any[0]}/${hamN} (${((100 * any[0]) / hamN).toFixed(1)}%), spam ${any[1]}/${spamN} (${((100 * any[1]) / spamN).toFixed(1)}%)\n`);
process.stdout.write(`rules alone score >= 5: ham ${over5[0]} (${((100 * over5[0]) / hamN).toFixed(2)}%), spam ${over5[1]} (${((100 * over5[1]) / spamN).toFixed(1)}%)\n`);
if (values.json) await writeFile(values.json, `${JSON.stringify({ split: values.split, ham: hamN, spam: spamN, report, rows, messagesPerSecond: (1000 * messages.length) / evalMs, any, over5 }, null, 2)}\n`);
