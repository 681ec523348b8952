/**
 * Runs a compiled rule set over one message's rule input: header, body, rawbody, uri and full
 * rules in order, then the metas over their hit counts. The whole pass has a time budget, counted
 * in the thread's CPU time when a CPU clock is given (cpu-clock.ts: the neighbours' load must not
 * change a verdict), else in wall time: the clock is read between rules, and once the budget is
 * spent the pass stops and names the rule that was running when it ran out (a single runaway regex cannot be interrupted here: the rule thread's
 * owner terminates the thread, see thread.ts). Before each rule its index is written to `progress`
 * (shared memory), so that the owner can name a rule that never returned. Pure CPU, no I/O.
 */
import type { CompiledRule, HeaderTarget, Pattern, RuleSet } from './compiler.js';
import { addressPart, type RuleInput } from './input.js';
import { evalMeta } from './meta.js';

interface Prepared {
  readonly rule: CompiledRule;
  readonly re: RegExp | null;
  /** For `tflags multiple`: the same pattern with /g. */
  readonly all: RegExp | null;
  readonly bytes: boolean;
}

export interface PreparedSet {
  readonly set: RuleSet;
  readonly rules: readonly Prepared[];
}

export interface EvalOptions {
  readonly budgetMs: number;
  /** Wall clock (ms). */
  readonly now: () => number;
  /** The thread's CPU clock (ms): when given, the budget counts CPU time instead of wall time. */
  readonly cpu?: (() => number) | null;
  /** progress[0] is set to the index of the rule about to run (-1 when done). */
  readonly progress?: Int32Array;
  /** Adds each rule's time (ms) into its slot, for `bench:rules`. */
  readonly timings?: Float64Array;
}

export interface EvalResult {
  /** Symbol rules that hit, with their hit counts. */
  readonly hits: readonly { readonly name: string; readonly count: number }[];
  /** The rule that was running when the budget ran out, or null when the pass completed. */
  readonly stoppedAt: string | null;
  /** Time the pass took, on the budget's clock (CPU time with a CPU clock). */
  readonly elapsedMs: number;
}

function regex(p: Pattern, global: boolean): RegExp {
  return new RegExp(p.source, p.flags + (global ? 'g' : ''));
}

export function prepare(set: RuleSet): PreparedSet {
  return {
    set,
    rules: set.rules.map((rule) => {
      const p = rule.kind === 'meta' ? null : rule.kind === 'header' ? (rule.test.op === 'exists' ? null : rule.test.re) : rule.re;
      return { rule, re: p ? regex(p, false) : null, all: p && rule.maxHits > 0 ? regex(p, true) : null, bytes: p?.bytes ?? false };
    }),
  };
}

/** UTF-8 octets as latin1 characters, for patterns that match octets (as Perl does on SA's text). */
function octets(s: string): string {
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

function headerValue(input: RuleInput, t: HeaderTarget): string | null {
  if (t.envelopeFrom) return input.envelopeFrom;
  if (t.all) {
    if (input.headers.length === 0) return null;
    return input.headers.map((h) => `${h.name}: ${t.raw ? h.raw : h.value}\n`).join('');
  }
  let found = input.headers.filter((h) => t.names.includes(h.key));
  if (found.length === 0) return null;
  if (t.pick === 'first') found = found.slice(0, 1);
  else if (t.pick === 'last') found = found.slice(-1);
  if (t.part) {
    for (const h of found) {
      const v = addressPart(h.raw, t.part);
      if (v !== null && v !== '') return v;
    }
    return null;
  }
  return found.map((h) => `${t.raw ? h.raw : h.value}\n`).join('');
}

function count(p: Prepared, text: string, max: number): number {
  const s = p.bytes ? octets(text) : text;
  if (!p.all) return (p.re as RegExp).test(s) ? 1 : 0;
  p.all.lastIndex = 0;
  let n = 0;
  for (let m = p.all.exec(s); m !== null && n < max; m = p.all.exec(s)) {
    n++;
    if (m[0] === '') p.all.lastIndex++;
  }
  return n;
}

function runOne(p: Prepared, input: RuleInput, hits: Map<string, number>, cache: Map<HeaderTarget, string | null>): number {
  const r = p.rule;
  const max = r.maxHits > 0 ? r.maxHits : 1;
  switch (r.kind) {
    case 'header': {
      let v = cache.get(r.target);
      if (v === undefined) {
        v = headerValue(input, r.target);
        cache.set(r.target, v);
      }
      if (r.test.op === 'exists') return v === null ? 0 : 1;
      const n = count(p, v ?? r.test.unset ?? '', max);
      return r.test.op === '=~' ? n : n > 0 ? 0 : 1;
    }
    case 'body':
    case 'rawbody':
    case 'uri': {
      const lines = r.kind === 'body' ? (r.subject ? input.body : input.body.slice(1)) : r.kind === 'rawbody' ? input.rawbody : input.uris;
      let n = 0;
      for (const line of lines) {
        n += count(p, line, max - n);
        if (n >= max) break;
      }
      return n;
    }
    case 'full':
      return count(p, input.full, max);
    case 'meta':
      return evalMeta(r.node, (name) => hits.get(name) ?? 0) ? 1 : 0;
  }
}

const WARM_UP: RuleInput = {
  headers: [{ key: 'subject', name: 'Subject', value: 'warm up', raw: 'warm up' }],
  envelopeFrom: 'a@example.org',
  body: ['warm up\n', 'Warm up the rules: every regex is compiled on its first run.\n'],
  rawbody: ['<p>Warm up</p>'],
  full: 'Subject: warm up\n\nWarm up\n',
  uris: ['http://www.example.org/'],
};

/**
 * One pass over a small message, so that V8 compiles every regex now (the first run of a big SA
 * pattern costs far more than later ones) and not inside a message's budget.
 */
export function warmUp(prepared: PreparedSet): void {
  evaluate(prepared, WARM_UP, { budgetMs: Infinity, now: () => 0 });
}

export function evaluate(prepared: PreparedSet, input: RuleInput, o: EvalOptions): EvalResult {
  const start = o.now();
  const cpu = o.cpu ?? null;
  const cpuStart = cpu ? cpu() : 0;
  const spent = (wall: number): number => (cpu ? cpu() - cpuStart : wall);
  // Wall ms into the pass before which the budget cannot be spent. A thread's CPU time grows no
  // faster than wall time, so between rules the CPU clock (a file read) is read only past this
  // point, which then moves on by the budget still left: a pass that stays inside the budget in
  // wall time reads it only at its start and end.
  let checkAt = o.budgetMs;
  const hits = new Map<string, number>();
  const cache = new Map<HeaderTarget, string | null>();
  let stoppedAt: string | null = null;
  const rules = prepared.rules;
  for (let i = 0; i < rules.length; i++) {
    const p = rules[i] as Prepared;
    if (o.progress) o.progress[0] = i;
    const t0 = o.timings ? o.now() : 0;
    const n = runOne(p, input, hits, cache);
    const t1 = o.now();
    if (o.timings) (o.timings as Float64Array)[i] = ((o.timings as Float64Array)[i] ?? 0) + (t1 - t0);
    if (n > 0) hits.set(p.rule.name, n);
    if (t1 - start > checkAt) {
      const used = spent(t1 - start);
      if (used > o.budgetMs) {
        stoppedAt = p.rule.name;
        break;
      }
      checkAt = t1 - start + (o.budgetMs - used);
    }
  }
  if (o.progress) o.progress[0] = -1;
  const out: { name: string; count: number }[] = [];
  // A pass that stopped early reports no metas: a meta over rules that did not run would lie.
  for (const p of rules) {
    const c = hits.get(p.rule.name);
    if (c && p.rule.symbol && !(stoppedAt && p.rule.kind === 'meta')) out.push({ name: p.rule.name, count: c });
  }
  return { hits: out, stoppedAt, elapsedMs: spent(o.now() - start) };
}
