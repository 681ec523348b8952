/**
 * The rule file syntax: SpamAssassin's `.cf` format, one statement a line (docs/rules.md). Reads
 * `header|body|rawbody|full|uri|meta NAME …`, `score`, `describe`, `tflags`, the ReplaceTags
 * plugin's `replace_*` lines, and `if`/`ifplugin`/`else`/`endif` blocks (evaluated here: Moat
 * claims SA version 4.0.0, the features in CAN and the plugins it emulates in PLUGINS; the content
 * of any other block is skipped and counted). Lines Moat cannot run (eval: tests, `lang`, `test`,
 * plugin-only directives) become `skip` statements with a reason; a line that does not parse becomes
 * a `problem` with its file and line. Everything else SA knows (report templates, whitelists,
 * network settings…) is a setting and ignored. Trusts nothing; never throws.
 */

export type RuleKind = 'header' | 'body' | 'rawbody' | 'full' | 'uri' | 'meta';

/** A rule file's text and where it came from. */
export interface RuleSource {
  /** Shown in problems (file:line). */
  readonly file: string;
  readonly text: string;
}

export interface At {
  readonly file: string;
  readonly line: number;
}

export type SkipReason =
  | 'eval'
  | 'plugin'
  | 'if'
  | 'lang'
  | 'test'
  | 'unsupported'
  | 'header-unsupported'
  | 'regex-possessive'
  | 'regex-atomic'
  | 'regex-feature'
  | 'regex-invalid'
  | 'syntax'
  | 'meta-missing-rule'
  | 'meta-cycle'
  | 'name-taken'
  | 'score-zero';

export type Statement =
  | { readonly type: 'rule'; readonly kind: RuleKind; readonly name: string; readonly def: string; readonly at: At }
  | { readonly type: 'score'; readonly name: string; readonly values: readonly number[]; readonly at: At }
  | { readonly type: 'describe'; readonly name: string; readonly text: string; readonly at: At }
  | { readonly type: 'tflags'; readonly name: string; readonly flags: readonly string[]; readonly at: At }
  | { readonly type: 'replace'; readonly what: 'tag' | 'pre' | 'inter' | 'post'; readonly name: string; readonly value: string; readonly at: At }
  | { readonly type: 'replace_rules'; readonly names: readonly string[]; readonly at: At }
  | { readonly type: 'skip'; readonly name: string | null; readonly reason: SkipReason; readonly detail: string; readonly at: At }
  | { readonly type: 'problem'; readonly name: string | null; readonly message: string; readonly at: At };

/** The SA version Moat's rule engine answers `if (version >= …)` with. */
export const SA_VERSION = 4.0;
/** `if can(…)` features that hold here. */
const CAN = new Set(['feature_bug6558_free', 'feature_welcomelist_blocklist', 'perl_min_version_5010000', 'feature_originating_ip_headers']);
/** Plugins whose rules Moat runs (`ifplugin` blocks for them are read). */
export const PLUGINS = new Set(['ReplaceTags']);

const KINDS = new Set<string>(['header', 'body', 'rawbody', 'full', 'uri', 'meta']);
/** Rule types of SA plugins Moat does not run. */
const PLUGIN_RULES = new Set(['mimeheader', 'uri_detail', 'askdns', 'urirhssub', 'urirhsbl', 'uridnsbl', 'uridnssub', 'check_rbl', 'hashbl', 'dns_block_rule', 'urirhsbl_skip_domain']);
/** Symbol rules are upper-case (they become symbols); SA's `__` sub-rules may be written in any case. */
export const NAME = /^(?:[A-Z][A-Z0-9_]*|__\w+)$/;

function shortPlugin(name: string): string {
  return name.replace(/^Mail::SpamAssassin::Plugin::/, '');
}

/** Evaluates an `if` condition; unknown terms are false. Returns null for an expression it cannot read. */
export function evalCondition(expr: string): boolean | null {
  const tokens = expr.match(/\s*(?:&&|\|\||!|\(|\)|>=|<=|==|!=|<|>|\d+(?:\.\d+)?|[\w:]+(?:\([^)]*\))?|\S)/g);
  if (!tokens) return null;
  const t = tokens.map((x) => x.trim());
  let pos = 0;
  const peek = (): string | undefined => t[pos];
  const value = (tok: string): number | boolean | null => {
    if (tok === 'version') return SA_VERSION;
    if (tok === 'perl_version') return 5.036;
    if (/^\d+(?:\.\d+)?$/.test(tok)) return Number(tok);
    const m = /^(can|plugin|has)\(([^)]*)\)$/.exec(tok);
    if (m) {
      const arg = (m[2] as string).trim();
      if (m[1] === 'plugin') return PLUGINS.has(shortPlugin(arg));
      return CAN.has(arg.replace(/^.*::/, ''));
    }
    return null;
  };
  const primary = (): number | boolean | null => {
    const tok = t[pos++];
    if (tok === undefined) return null;
    if (tok === '!') {
      const v = primary();
      return v === null ? null : !v;
    }
    if (tok === '(') {
      const v = or();
      if (t[pos++] !== ')') return null;
      return v;
    }
    return value(tok);
  };
  const compare = (): number | boolean | null => {
    const a = primary();
    const op = peek();
    if (op && ['>=', '<=', '==', '!=', '<', '>'].includes(op)) {
      pos++;
      const b = primary();
      if (a === null || b === null) return null;
      const x = Number(a);
      const y = Number(b);
      return op === '>=' ? x >= y : op === '<=' ? x <= y : op === '==' ? x === y : op === '!=' ? x !== y : op === '<' ? x < y : x > y;
    }
    return a;
  };
  const and = (): number | boolean | null => {
    let a = compare();
    while (peek() === '&&') {
      pos++;
      const b = compare();
      a = a === null || b === null ? null : Boolean(a) && Boolean(b);
    }
    return a;
  };
  const or = (): number | boolean | null => {
    let a = and();
    while (peek() === '||') {
      pos++;
      const b = and();
      a = a === null || b === null ? null : Boolean(a) || Boolean(b);
    }
    return a;
  };
  const v = or();
  if (v === null || pos !== t.length) return null;
  return Boolean(v);
}

/** SA's comment rule: `#` starts a comment unless escaped as `\#`. */
function stripComment(line: string): string {
  return line.replace(/(?<!\\)#.*$/, '').replace(/\\#/g, '#').trim();
}

interface Block {
  /** This block's statements are read. */
  readonly active: boolean;
  /** Why not, when not. */
  readonly reason: 'plugin' | 'if' | null;
  readonly detail: string;
  /** The enclosing block was active (an `else` can only turn this one on then). */
  readonly parentActive: boolean;
  readonly at: At;
}

/** Parses one file. */
export function parseRules(src: RuleSource): Statement[] {
  const out: Statement[] = [];
  const stack: Block[] = [];
  const lines = src.text.split(/\r?\n/);
  const active = (): boolean => stack.every((b) => b.active);
  lines.forEach((rawLine, index) => {
    const at: At = { file: src.file, line: index + 1 };
    const line = stripComment(rawLine);
    if (line === '') return;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line) as RegExpExecArray;
    const word = (m[1] as string).toLowerCase();
    const rest = (m[2] ?? '').trim();
    if (word === 'if' || word === 'ifplugin') {
      const parentActive = active();
      if (word === 'ifplugin') {
        const plugin = shortPlugin(rest.split(/\s+/)[0] ?? '');
        const on = PLUGINS.has(plugin);
        stack.push({ active: on, reason: on ? null : 'plugin', detail: plugin, parentActive, at });
      } else {
        const v = evalCondition(rest);
        if (v === null) out.push({ type: 'problem', name: null, message: `cannot read condition "if ${rest}": its block is skipped`, at });
        stack.push({ active: v === true, reason: v === true ? null : 'if', detail: rest, parentActive, at });
      }
      return;
    }
    if (word === 'else') {
      const b = stack.pop();
      if (!b) {
        out.push({ type: 'problem', name: null, message: '"else" without "if"', at });
        return;
      }
      stack.push({ active: !b.active, reason: b.active ? (b.reason ?? 'if') : null, detail: `else of ${b.detail}`, parentActive: b.parentActive, at });
      return;
    }
    if (word === 'endif') {
      if (!stack.pop()) out.push({ type: 'problem', name: null, message: '"endif" without "if"', at });
      return;
    }
    const parts = rest.split(/\s+/);
    const name = parts[0] ?? '';
    if (!active()) {
      // Count the rules a skipped block defines, by the reason of the innermost closed block.
      if (KINDS.has(word) || PLUGIN_RULES.has(word)) {
        const closed = [...stack].reverse().find((b) => !b.active) as Block;
        out.push({ type: 'skip', name, reason: closed.reason ?? 'if', detail: closed.detail, at });
      }
      return;
    }
    if (KINDS.has(word)) {
      const def = rest.slice(name.length).trim();
      if (!NAME.test(name)) out.push({ type: 'problem', name: null, message: `rule name "${name}": upper-case letters, digits and _ (or a __ sub-rule)`, at });
      else if (def === '') out.push({ type: 'problem', name, message: `${word} ${name}: no definition`, at });
      else if (/^eval:/.test(def) || /^\S+\s+eval:/.test(def)) out.push({ type: 'skip', name, reason: 'eval', detail: def.slice(0, 60), at });
      else out.push({ type: 'rule', kind: word as RuleKind, name, def, at });
      return;
    }
    if (PLUGIN_RULES.has(word)) {
      out.push({ type: 'skip', name, reason: 'unsupported', detail: word, at });
      return;
    }
    switch (word) {
      case 'score': {
        const values = parts.slice(1).map((v) => Number(v.replace(/^\((.*)\)$/, '$1')));
        if (!NAME.test(name) || (values.length !== 1 && values.length !== 4) || values.some((v) => !Number.isFinite(v))) {
          out.push({ type: 'problem', name: NAME.test(name) ? name : null, message: `score ${rest}: expected a name and 1 or 4 numbers`, at });
        } else out.push({ type: 'score', name, values, at });
        return;
      }
      case 'describe':
        if (NAME.test(name)) out.push({ type: 'describe', name, text: rest.slice(name.length).trim(), at });
        return;
      case 'tflags':
        if (NAME.test(name)) out.push({ type: 'tflags', name, flags: parts.slice(1), at });
        return;
      case 'replace_tag':
      case 'replace_pre':
      case 'replace_inter':
      case 'replace_post':
        out.push({ type: 'replace', what: word.slice(8) as 'tag' | 'pre' | 'inter' | 'post', name, value: rest.slice(name.length).trim(), at });
        return;
      case 'replace_rules':
        out.push({ type: 'replace_rules', names: parts.filter((p) => p !== ''), at });
        return;
      case 'lang':
        out.push({ type: 'skip', name: parts[2] ?? null, reason: 'lang', detail: rest.slice(0, 40), at });
        return;
      case 'test':
        out.push({ type: 'skip', name, reason: 'test', detail: rest.slice(0, 40), at });
        return;
      default:
        // A setting (required_score, report, whitelist_from, loadplugin, priority, …): not a rule.
        return;
    }
  });
  for (const b of stack) out.push({ type: 'problem', name: null, message: `block opened here is never closed with "endif"`, at: b.at });
  return out;
}
