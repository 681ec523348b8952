/**
 * From parsed statements of every rule file (shipped, SpamAssassin directory, operator files, in
 * that order: a later definition of a name replaces an earlier one, as in SA) to a compiled rule
 * set: regexes translated (regex.ts) and checked once, ReplaceTags applied, header targets
 * resolved, metas parsed and ordered so that each comes after the rules it reads, scores chosen
 * (one value, or the configured set of SA's four), and a report of what was loaded and what was
 * skipped, by reason, with file:line for every problem. The set is plain data: it crosses to the
 * rule thread, which builds its RegExp objects from it. Never throws.
 */
import { parseMeta, type MetaNode } from './meta.js';
import { parseRules, type At, type RuleKind, type RuleSource, type SkipReason, type Statement } from './parser.js';
import { splitDelimited, translatePerl } from './regex.js';

export interface Pattern {
  readonly source: string;
  readonly flags: string;
  readonly bytes: boolean;
}

/** Which header text a header rule reads (SA's PerMsgStatus::get). */
export interface HeaderTarget {
  /** `ALL`: every field as "Name: value\n". */
  readonly all: boolean;
  /** Lower-case field names (ToCc is to and cc; MESSAGEID the four message-id fields). */
  readonly names: readonly string[];
  /** `EnvelopeFrom`: the SMTP MAIL FROM address. */
  readonly envelopeFrom: boolean;
  /** `:raw`: as received, encoded words not decoded. */
  readonly raw: boolean;
  /** `:addr`: the first address; `:name`: the first display name. */
  readonly part: 'addr' | 'name' | null;
  readonly pick: 'first' | 'last' | null;
}

interface Common {
  readonly name: string;
  /** Reported as a symbol (not a `__` sub-rule, score not 0). */
  readonly symbol: boolean;
  /** `tflags multiple`: count every match, up to this many (0: count one). */
  readonly maxHits: number;
}

export type CompiledRule =
  | (Common & { readonly kind: 'header'; readonly target: HeaderTarget; readonly test: { readonly op: '=~' | '!~'; readonly re: Pattern; readonly unset: string | null } | { readonly op: 'exists' } })
  | (Common & { readonly kind: 'body' | 'rawbody' | 'full' | 'uri'; readonly re: Pattern; readonly subject: boolean })
  | (Common & { readonly kind: 'meta'; readonly node: MetaNode });

export interface RuleSymbol {
  readonly name: string;
  readonly score: number;
  readonly description: string;
}

export interface RuleSet {
  /** In evaluation order: header, body, rawbody, uri, full rules, then metas after what they read. */
  readonly rules: readonly CompiledRule[];
  readonly symbols: readonly RuleSymbol[];
  /** Which inputs any rule reads (the check builds only those). */
  readonly needs: Readonly<Record<Exclude<RuleKind, 'meta'>, boolean>>;
}

export interface RuleProblem extends At {
  readonly message: string;
}

export interface RulesReport {
  /** Rules that run (sub-rules included). */
  readonly loaded: number;
  /** Of them, reported as symbols. */
  readonly symbols: number;
  readonly skipped: Partial<Record<SkipReason, number>>;
  readonly problems: readonly RuleProblem[];
}

export interface CompileOptions {
  /** SA score set for `score` lines with four values (0: no Bayes, no net … 3: Bayes and net). */
  readonly scoreSet: 0 | 1 | 2 | 3;
  /** Symbol names other checks report: a rule may not take one. */
  readonly taken: ReadonlySet<string>;
}

interface Def {
  readonly kind: RuleKind;
  readonly def: string;
  readonly at: At;
}

const ORDER: readonly RuleKind[] = ['header', 'body', 'rawbody', 'uri', 'full'];
const SPECIAL: Readonly<Record<string, readonly string[]>> = {
  tocc: ['to', 'cc'],
  messageid: ['x-message-id', 'resent-message-id', 'x-original-message-id', 'message-id'],
};

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: SkipReason; readonly detail: string };

function pattern(text: string, replace: ((p: string) => string) | null): Parsed<{ re: Pattern; rest: string }> {
  const d = splitDelimited(text);
  if (!d) return { ok: false, reason: 'syntax', detail: `expected /regex/flags, got "${text.slice(0, 40)}"` };
  const t = translatePerl(replace ? replace(d.pattern) : d.pattern, d.flags);
  if (!t.ok) return { ok: false, reason: t.problem, detail: t.detail };
  return { ok: true, value: { re: { source: t.source, flags: t.flags, bytes: t.bytes }, rest: d.rest } };
}

function headerTarget(spec: string): Parsed<HeaderTarget> {
  const [base = '', ...mods] = spec.split(':');
  let raw = false;
  let part: HeaderTarget['part'] = null;
  let pick: HeaderTarget['pick'] = null;
  for (const m of mods) {
    if (m === 'raw') raw = true;
    else if (m === 'addr' || m === 'name') part = m;
    else if (m === 'first' || m === 'last') pick = m;
    else return { ok: false, reason: 'header-unsupported', detail: `:${m}` };
  }
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(base)) return { ok: false, reason: 'syntax', detail: `header name "${base}"` };
  if (base === 'ALL') return { ok: true, value: { all: true, names: [], envelopeFrom: false, raw, part, pick } };
  if (base.startsWith('ALL-') || /^X-Spam-Relays-/i.test(base)) return { ok: false, reason: 'header-unsupported', detail: base };
  if (base.toLowerCase() === 'envelopefrom') return { ok: true, value: { all: false, names: [], envelopeFrom: true, raw, part, pick } };
  const names = base === 'MESSAGEID' ? SPECIAL['messageid'] : base.toLowerCase() === 'tocc' ? SPECIAL['tocc'] : [base.toLowerCase()];
  return { ok: true, value: { all: false, names: names as readonly string[], envelopeFrom: false, raw, part, pick } };
}

/** ReplaceTags (SA's Plugin/ReplaceTags.pm, finish_parsing_end): `<A>` tags with pre/inter/post. */
function replacer(tags: Map<string, string>, pre: Map<string, string>, inter: Map<string, string>, post: Map<string, string>): (p: string) => string {
  return (original) => {
    let re = original;
    for (let pass = 0, again = true; again && pass <= 5; pass++) {
      again = false;
      let preName: string | undefined;
      let postName: string | undefined;
      let interName: string | undefined;
      re = re.replace(/<pre (.+?)>/, (_, n: string) => ((preName = n), ''));
      re = re.replace(/<post (.+?)>/, (_, n: string) => ((postName = n), ''));
      re = re.replace(/<inter (.+?)>/, (_, n: string) => ((interName = n), ''));
      const parts = re.split(/(<[^<>]+>)/);
      const p = preName === undefined ? undefined : pre.get(preName);
      const q = postName === undefined ? undefined : post.get(postName);
      const i = interName === undefined ? undefined : inter.get(interName);
      for (let k = 0; k < parts.length; k++) {
        let s = parts[k] as string;
        if (p) s = s.replace(/(<.+?>)/, `${p}$1`);
        if (q) s = s.replace(/(<.+?>)/g, `$1${q}`);
        if (i && s === '') s = i;
        const tag = /<(.+?)>/.exec(s);
        if (tag) {
          const value = tags.get(tag[1] as string);
          if (value) {
            s = s.split(`<${tag[1] as string}>`).join(value);
            if (/<[^>]+>/.test(value)) again = true;
          }
        }
        parts[k] = s;
      }
      re = parts.join('');
    }
    return re;
  };
}

export function compileRules(sources: readonly RuleSource[], options: CompileOptions): { set: RuleSet; report: RulesReport } {
  const statements: Statement[] = sources.flatMap((s) => parseRules(s));
  const defs = new Map<string, Def>();
  const scores = new Map<string, readonly number[]>();
  const describes = new Map<string, string>();
  const tflags = new Map<string, readonly string[]>();
  const tags = new Map<string, string>();
  const pre = new Map<string, string>();
  const inter = new Map<string, string>();
  const post = new Map<string, string>();
  const replaced = new Set<string>();
  /** The last reason each name could not be loaded (counted per name at the end). */
  const skipped = new Map<string, SkipReason>();
  /** Skips that are lines, not rules (lang, test) and problems without a rule name. */
  const lineSkips: Partial<Record<SkipReason, number>> = {};
  const problems: RuleProblem[] = [];
  const countLine = (reason: SkipReason): void => {
    lineSkips[reason] = (lineSkips[reason] ?? 0) + 1;
  };
  for (const s of statements) {
    switch (s.type) {
      case 'rule':
        defs.set(s.name, { kind: s.kind, def: s.def, at: s.at });
        skipped.delete(s.name);
        break;
      case 'score':
        scores.set(s.name, s.values);
        break;
      case 'describe':
        describes.set(s.name, s.text);
        break;
      case 'tflags':
        tflags.set(s.name, s.flags);
        break;
      case 'replace':
        ({ tag: tags, pre, inter, post })[s.what].set(s.name, s.value);
        break;
      case 'replace_rules':
        for (const n of s.names) replaced.add(n);
        break;
      case 'skip':
        if (!s.name || s.reason === 'lang' || s.reason === 'test') countLine(s.reason);
        else if (s.reason === 'if' || s.reason === 'plugin') {
          // An alternative in a block that is off does not replace a definition that is on.
          if (!defs.has(s.name)) skipped.set(s.name, s.reason);
        } else {
          defs.delete(s.name);
          skipped.set(s.name, s.reason);
        }
        break;
      case 'problem':
        problems.push({ ...s.at, message: s.message });
        if (s.name) {
          defs.delete(s.name);
          skipped.set(s.name, 'syntax');
        } else countLine('syntax');
        break;
    }
  }

  const replace = replacer(tags, pre, inter, post);
  const compiled = new Map<string, CompiledRule>();
  const zero = new Set<string>();
  const scoreOf = (name: string): number => {
    const v = scores.get(name);
    if (v) return v.length === 4 ? (v[options.scoreSet] as number) : (v[0] as number);
    if (name.startsWith('__')) return 0;
    if (name.startsWith('T_')) return 0.01;
    return tflags.get(name)?.includes('nice') ? -1 : 1;
  };
  const refuse = (name: string, at: At, reason: SkipReason, detail: string, problem: boolean): void => {
    skipped.set(name, reason);
    if (problem) problems.push({ ...at, message: `${name}: ${detail}` });
  };
  for (const [name, d] of defs) {
    const flags = tflags.get(name) ?? [];
    const maxHits = flags.includes('multiple') ? Number(/^maxhits=(\d+)$/.exec(flags.find((f) => f.startsWith('maxhits=')) ?? '')?.[1] ?? 1000) : 0;
    const score = scoreOf(name);
    if (scores.has(name) && score === 0 && !name.startsWith('__')) {
      // SA: a score of 0 turns a rule off; metas that read it see a miss.
      zero.add(name);
      skipped.set(name, 'score-zero');
      continue;
    }
    if (!name.startsWith('__') && options.taken.has(name)) {
      refuse(name, d.at, 'name-taken', 'another check reports this symbol', false);
      continue;
    }
    const common = { name, symbol: !name.startsWith('__'), maxHits };
    const rep = replaced.has(name) ? replace : null;
    if (d.kind === 'meta') {
      const m = parseMeta(d.def);
      if (!m.ok) refuse(name, d.at, 'syntax', `meta: ${m.error}`, true);
      else compiled.set(name, { ...common, kind: 'meta', node: m.node });
      continue;
    }
    if (d.kind === 'header') {
      const ex = /^exists:(\S+)$/.exec(d.def);
      if (ex) {
        const t = headerTarget(ex[1] as string);
        if (!t.ok) refuse(name, d.at, t.reason, t.detail, t.reason === 'syntax');
        else compiled.set(name, { ...common, kind: 'header', target: t.value, test: { op: 'exists' } });
        continue;
      }
      const hm = /^(\S+)\s*(=~|!~)\s*(.*)$/.exec(d.def);
      if (!hm) {
        refuse(name, d.at, 'syntax', `header: expected "Name =~ /re/", got "${d.def.slice(0, 40)}"`, true);
        continue;
      }
      const t = headerTarget(hm[1] as string);
      if (!t.ok) {
        refuse(name, d.at, t.reason, t.detail, t.reason === 'syntax');
        continue;
      }
      const p = pattern((hm[3] as string).trim(), rep);
      if (!p.ok) {
        refuse(name, d.at, p.reason, p.detail, p.reason === 'syntax' || p.reason === 'regex-invalid');
        continue;
      }
      const unset = /^\[if-unset:\s?(.*)\]$/.exec(p.value.rest);
      if (p.value.rest !== '' && !unset) {
        refuse(name, d.at, 'syntax', `header: unexpected "${p.value.rest.slice(0, 30)}"`, true);
        continue;
      }
      compiled.set(name, { ...common, kind: 'header', target: t.value, test: { op: hm[2] as '=~' | '!~', re: p.value.re, unset: unset ? (unset[1] as string) : null } });
      continue;
    }
    const p = pattern(d.def, rep);
    if (!p.ok || p.value.rest !== '') {
      if (!p.ok) refuse(name, d.at, p.reason, p.detail, p.reason === 'syntax' || p.reason === 'regex-invalid');
      else refuse(name, d.at, 'syntax', `unexpected "${p.value.rest.slice(0, 30)}" after the regex`, true);
      continue;
    }
    compiled.set(name, { ...common, kind: d.kind, re: p.value.re, subject: d.kind === 'body' && !flags.includes('nosubject') });
  }

  // Metas: drop those that read rules we do not have (a missing rule is not a miss), then order them.
  const metaNames = [...compiled.values()].filter((r) => r.kind === 'meta').map((r) => r.name);
  const readsOf = (r: CompiledRule): string[] => (r.kind === 'meta' ? [...new Set(collect(r.node))] : []);
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of metaNames) {
      const r = compiled.get(n);
      if (!r) continue;
      const missing = readsOf(r).find((x) => !compiled.has(x) && !zero.has(x));
      if (missing) {
        compiled.delete(n);
        refuse(n, defs.get(n)?.at ?? { file: '?', line: 0 }, 'meta-missing-rule', `reads ${missing} (${skipped.get(missing) ?? 'not defined'})`, !skipped.has(missing));
        changed = true;
      }
    }
  }
  const ordered: CompiledRule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  // Depth first; every meta on the way to a cycle (or to a rule dropped for one) is dropped too.
  const visit = (n: string): boolean => {
    const r = compiled.get(n);
    if (!r) return zero.has(n);
    if (r.kind !== 'meta' || state.get(n) === 'done') return true;
    if (state.get(n) === 'visiting') return false;
    state.set(n, 'visiting');
    if (!readsOf(r).every((x) => visit(x))) {
      state.delete(n);
      compiled.delete(n);
      refuse(n, defs.get(n)?.at ?? { file: '?', line: 0 }, 'meta-cycle', 'meta rules read each other in a cycle', true);
      return false;
    }
    state.set(n, 'done');
    ordered.push(r);
    return true;
  };
  for (const n of metaNames) if (compiled.has(n)) visit(n);
  const finalMetas = ordered.filter((r) => compiled.has(r.name));
  const plain = ORDER.flatMap((k) => [...compiled.values()].filter((r) => r.kind === k));
  const rules = [...plain, ...finalMetas];
  const symbols = rules.filter((r) => r.symbol).map((r) => ({ name: r.name, score: scoreOf(r.name), description: describes.get(r.name) ?? `rule ${r.name} (${defs.get(r.name)?.at.file ?? '?'})` }));
  const needs = { header: false, body: false, rawbody: false, uri: false, full: false };
  for (const r of plain) if (r.kind !== 'meta') needs[r.kind] = true;
  const skippedCount: Partial<Record<SkipReason, number>> = { ...lineSkips };
  for (const reason of skipped.values()) skippedCount[reason] = (skippedCount[reason] ?? 0) + 1;
  return {
    set: { rules, symbols, needs },
    report: { loaded: rules.length, symbols: symbols.length, skipped: skippedCount, problems },
  };
}

function collect(n: MetaNode): string[] {
  switch (n.t) {
    case 'rule':
      return [n.name];
    case 'num':
      return [];
    case 'not':
    case 'neg':
      return collect(n.a);
    case 'bin':
      return [...collect(n.a), ...collect(n.b)];
  }
}
