/**
 * Perl regular expressions (as SpamAssassin rule files write them) turned into JavaScript ones.
 * SA compiles rules with Perl; the common differences are translated so that a rule means the same
 * here: `$` without /m also matches before a final newline, `.` never matches a newline (JS also
 * stops at CR and U+2028), `\A \z \Z \h \v \R \Q…\E \x{…} \o{…}` and octal escapes, POSIX classes
 * (`[[:alpha:]]`), `(?P<name>…)`, leading `(?i)`-style modifiers and /x comments. What JavaScript
 * cannot express without changing the meaning — possessive quantifiers, atomic groups, recursion,
 * conditionals, branch reset, `\G`, `\K`, modifiers in mid-pattern — is refused with a reason, and
 * the caller skips the rule. Trusts nothing: the pattern is operator or SA input; the result is
 * compiled once here so that a pattern JavaScript refuses is reported, never thrown later.
 */
import { END, escape, hex, Refused, type RegexProblem, type State } from './regex-escape.js';

export type { RegexProblem } from './regex-escape.js';

export type Translated =
  | {
      readonly ok: true;
      readonly source: string;
      readonly flags: string;
      /** The pattern matches octets (`\xHH` above 0x7f): run it on the UTF-8 octets of the text, as Perl does. */
      readonly bytes: boolean;
    }
  | { readonly ok: false; readonly problem: RegexProblem; readonly detail: string };

export interface Delimited {
  readonly pattern: string;
  readonly flags: string;
  /** What follows the closing delimiter and flags (e.g. `[if-unset: …]`). */
  readonly rest: string;
}

const PAIRS: Readonly<Record<string, string>> = { '{': '}', '(': ')', '[': ']', '<': '>' };

/** Splits `/re/flags rest` or `m{re}flags rest` (SA's delimiters); null when it is not one. */
export function splitDelimited(text: string): Delimited | null {
  let i = 0;
  let open = text[0];
  if (open === 'm' && text.length > 1 && !/[\w\s]/.test(text[1] as string)) {
    open = text[1];
    i = 1;
  } else if (open !== '/') return null;
  if (open === undefined) return null;
  const close = PAIRS[open] ?? open;
  let depth = 0;
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === open && close !== open) depth++;
    else if (c === close) {
      if (depth > 0) {
        depth--;
        continue;
      }
      const pattern = text.slice(i + 1, j);
      const m = /^[a-zA-Z]*/.exec(text.slice(j + 1)) as RegExpExecArray;
      return { pattern, flags: m[0], rest: text.slice(j + 1 + m[0].length).trim() };
    }
  }
  return null;
}

const POSIX: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~',
  graph: '!-~',
};

function group(s: State): void {
  const p = s.p;
  const rest = p.slice(s.i);
  if (rest.startsWith('(?#')) {
    const end = p.indexOf(')', s.i);
    s.i = end < 0 ? p.length : end + 1;
    return;
  }
  if (rest.startsWith('(?>')) throw new Refused('regex-atomic', 'atomic group (?>…)');
  if (/^\(\?(?:\||R\)|[+-]?\d+\)|&|P>|\(|\{|\?\{|[a-z]*\^)/.test(rest)) throw new Refused('regex-feature', `${rest.slice(0, 4)}…`);
  if (rest.startsWith('(?P=')) {
    const m = /^\(\?P=(\w+)\)/.exec(rest);
    if (!m) throw new Refused('regex-invalid', 'bad (?P=');
    s.out += `\\k<${m[1] as string}>`;
    s.i += m[0].length;
    return;
  }
  const named = /^\(\?P?<([A-Za-z_]\w*)>|^\(\?'([A-Za-z_]\w*)'/.exec(rest);
  if (named) {
    s.groups++;
    s.out += `(?<${(named[1] ?? named[2]) as string}>`;
    s.i += named[0].length;
    return;
  }
  const mod = /^\(\?([imsxn]*)(?:-([imsxn]*))?(\)|:)/.exec(rest);
  if (mod && (mod[1] || mod[2] !== undefined)) {
    const on = mod[1] ?? '';
    const off = mod[2] ?? '';
    if (mod[3] === ')') {
      // A leading (?i) sets the flag for the whole pattern, as it does in Perl.
      if (s.out === '' && off === '') {
        for (const f of on) s.flags.add(f);
        s.i += mod[0].length;
        return;
      }
    }
    const same = [...on].every((f) => s.flags.has(f)) && [...off].every((f) => !s.flags.has(f));
    if (!same) throw new Refused('regex-feature', `inline modifier ${mod[0]}`);
    s.i += mod[0].length;
    if (mod[3] === ':') s.out += '(?:';
    return;
  }
  if (!rest.startsWith('(?')) s.groups++;
  s.out += '(';
  s.i++;
}

function classStart(s: State): void {
  const p = s.p;
  s.inClass = true;
  s.out += '[';
  s.i++;
  if (p[s.i] === '^') {
    s.out += '^';
    s.i++;
  }
  // Perl: a ']' first in a class is a literal; JavaScript would end the class there.
  if (p[s.i] === ']') {
    s.out += '\\]';
    s.i++;
  }
}

function inClassChar(s: State): void {
  const p = s.p;
  const c = p[s.i] as string;
  if (c === ']') {
    s.inClass = false;
    s.out += ']';
    s.i++;
    return;
  }
  if (c === '[' && (p[s.i + 1] === ':' || p[s.i + 1] === '=' || p[s.i + 1] === '.')) {
    const m = /^\[:(\^?)(\w+):\]/.exec(p.slice(s.i));
    if (!m) throw new Refused('regex-feature', 'POSIX collating element');
    const set = POSIX[m[2] as string];
    if (!set || m[1]) throw new Refused('regex-feature', `POSIX class ${m[0]}`);
    s.out += set;
    s.i += m[0].length;
    return;
  }
  if (c === '[') {
    s.out += '\\[';
    s.i++;
    return;
  }
  s.out += c;
  s.i++;
}

function outsideChar(s: State): void {
  const p = s.p;
  const c = p[s.i] as string;
  if (s.flags.has('x') && /\s/.test(c)) {
    s.i++;
    return;
  }
  if (s.flags.has('x') && c === '#') {
    const end = p.indexOf('\n', s.i);
    s.i = end < 0 ? p.length : end + 1;
    return;
  }
  s.i++;
  switch (c) {
    case '.':
      s.out += s.flags.has('s') ? '[\\s\\S]' : '[^\\n]';
      return;
    case '$':
      s.out += s.flags.has('m') ? `(?=\\n|${END})` : `(?=\\n?${END})`;
      return;
    case '^':
      s.out += s.flags.has('m') ? '(?<![^\\n])' : '^';
      return;
    case '*':
    case '+':
    case '?':
      s.out += c;
      quantifierTail(s, c);
      return;
    case '{': {
      const q = /^\d*(?:,\d*)?\}/.exec(p.slice(s.i));
      if (q && q[0] !== '}' && q[0] !== ',}') {
        s.out += `{${q[0].startsWith(',') ? `0${q[0]}` : q[0]}`;
        s.i += q[0].length;
        quantifierTail(s, '}');
      } else s.out += '\\{';
      return;
    }
    case '}':
    case ']':
      s.out += `\\${c}`;
      return;
    case '/':
      s.out += '\\/';
      return;
    default:
      s.out += c;
  }
}

/** After a quantifier: a lazy `?` passes, a possessive `+` is refused. */
function quantifierTail(s: State, q: string): void {
  if (s.p[s.i] === '+') throw new Refused('regex-possessive', `possessive quantifier ${q}+`);
  if (s.p[s.i] === '?') {
    s.out += '?';
    s.i++;
  }
}

const JS_FLAGS: Readonly<Record<string, string>> = { i: 'i', s: '', m: '', x: '', g: '', o: '', n: '' };

/** Translates a Perl pattern with its flags (i, m, s, x; g and o are meaningless for a test). */
export function translatePerl(pattern: string, flags: string): Translated {
  for (const f of flags) if (!(f in JS_FLAGS)) return { ok: false, problem: 'regex-feature', detail: `modifier /${f}` };
  const s: State = { p: pattern, i: 0, out: '', inClass: false, flags: new Set(flags), bytes: false, unicode: false, groups: 0 };
  // Count capturing groups up front so that \10 is read as Perl would (a reference only if that group exists).
  s.groups = (pattern.match(/(?<!\\)\((?!\?)/g) ?? []).length;
  try {
    while (s.i < pattern.length) {
      const c = pattern[s.i] as string;
      if (c === '\\') escape(s);
      else if (s.inClass) inClassChar(s);
      else if (c === '[') classStart(s);
      else if (c === '(') group(s);
      else outsideChar(s);
    }
  } catch (e) {
    if (e instanceof Refused) return { ok: false, problem: e.problem, detail: e.message };
    throw e;
  }
  if (s.inClass) return { ok: false, problem: 'regex-invalid', detail: 'unterminated character class' };
  let source = s.out;
  // Literal non-ASCII characters of an octet pattern are matched as their UTF-8 octets.
  if (s.bytes) source = source.replace(/[^\x00-\x7f]/g, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => hex(b)).join(''));
  const jsFlags = `${s.flags.has('i') ? 'i' : ''}${s.unicode ? 'u' : ''}`;
  try {
    new RegExp(source, jsFlags);
  } catch (e) {
    return { ok: false, problem: 'regex-invalid', detail: e instanceof Error ? e.message : String(e) };
  }
  return { ok: true, source, flags: jsFlags, bytes: s.bytes };
}
