/**
 * The escapes of a Perl pattern (`\x{…}`, `\o{…}`, octal, `\Q…\E`, `\A \z \Z \h \v \R`, class
 * shorthands) written as JavaScript, for regex.ts's translator, with the translator's shared
 * state and refusal. Trusts nothing (operator or SA input); refuses what JavaScript cannot mean
 * the same way by throwing Refused, which translatePerl turns into a skipped rule.
 */

/** Why a pattern cannot be used (counted in the rules.loaded log line). */
export type RegexProblem = 'regex-possessive' | 'regex-atomic' | 'regex-feature' | 'regex-invalid';

const VSPACE = '\\n\\x0b\\f\\r\\x85\\u2028\\u2029';
const HSPACE = '\\t \\xa0';
export const END = '(?![\\s\\S])';
/** Characters JavaScript's unicode mode accepts escaped outside a class. */
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

export class Refused extends Error {
  constructor(
    readonly problem: RegexProblem,
    detail: string,
  ) {
    super(detail);
  }
}

export function hex(n: number): string {
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : n <= 0xffff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\u{${n.toString(16)}}`;
}

function quoteLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

export interface State {
  readonly p: string;
  i: number;
  out: string;
  inClass: boolean;
  flags: Set<string>;
  bytes: boolean;
  unicode: boolean;
  groups: number;
}

export function escape(s: State): void {
  const p = s.p;
  const c = p[s.i + 1];
  s.i += 2;
  if (c === undefined) throw new Refused('regex-invalid', 'trailing backslash');
  const cls = s.inClass;
  switch (c) {
    case 'A':
      if (cls) throw new Refused('regex-invalid', '\\A in a class');
      s.out += '(?<![\\s\\S])';
      return;
    case 'z':
      s.out += END;
      return;
    case 'Z':
      s.out += `(?=\\n?${END})`;
      return;
    case 'h':
      s.out += cls ? HSPACE : `[${HSPACE}]`;
      return;
    case 'H':
      if (cls) throw new Refused('regex-feature', '\\H in a class');
      s.out += `[^${HSPACE}]`;
      return;
    case 'v':
      s.out += cls ? VSPACE : `[${VSPACE}]`;
      return;
    case 'V':
      if (cls) throw new Refused('regex-feature', '\\V in a class');
      s.out += `[^${VSPACE}]`;
      return;
    case 'R':
      s.out += `(?:\\r\\n|[${VSPACE}])`;
      return;
    case 'N':
      if (p[s.i] === '{') throw new Refused('regex-feature', '\\N{…} named character');
      s.out += cls ? '' : '[^\\n]';
      return;
    case 'e':
      s.out += '\\x1b';
      return;
    case 'a':
      s.out += '\\x07';
      return;
    case 'G':
    case 'K':
    case 'X':
    case 'C':
    case 'l':
    case 'u':
    case 'L':
    case 'U':
      throw new Refused('regex-feature', `\\${c}`);
    case 'E':
      return;
    case 'Q': {
      const end = p.indexOf('\\E', s.i);
      const lit = p.slice(s.i, end < 0 ? p.length : end);
      s.out += quoteLiteral(lit);
      s.i = end < 0 ? p.length : end + 2;
      return;
    }
    case 'x': {
      let n: number;
      if (p[s.i] === '{') {
        const end = p.indexOf('}', s.i);
        if (end < 0) throw new Refused('regex-invalid', 'unclosed \\x{');
        // \x{…} names a character; \xHH (below) an octet, as SA's rules use them.
        n = parseInt(p.slice(s.i + 1, end).trim() || '0', 16);
        s.i = end + 1;
        if (Number.isNaN(n)) throw new Refused('regex-invalid', 'bad \\x{…} escape');
        if (n > 0xffff) s.unicode = true;
        s.out += hex(n);
        return;
      } else {
        const m = /^[0-9a-fA-F]{0,2}/.exec(p.slice(s.i)) as RegExpExecArray;
        n = parseInt(m[0] || '0', 16);
        s.i += m[0].length;
      }
      if (Number.isNaN(n)) throw new Refused('regex-invalid', 'bad \\x escape');
      if (n > 0x7f && n <= 0xff) s.bytes = true;
      if (n > 0xffff) s.unicode = true;
      s.out += hex(n);
      return;
    }
    case 'o': {
      const end = p.indexOf('}', s.i);
      if (p[s.i] !== '{' || end < 0) throw new Refused('regex-invalid', 'bad \\o escape');
      const n = parseInt(p.slice(s.i + 1, end), 8);
      s.i = end + 1;
      if (n > 0x7f && n <= 0xff) s.bytes = true;
      s.out += hex(n);
      return;
    }
    case 'g':
    case 'k': {
      const m = /^(?:\{(-?\w+)\}|<(\w+)>|'(\w+)'|(-?\d+))/.exec(p.slice(s.i));
      if (!m) throw new Refused('regex-invalid', `bad \\${c} reference`);
      s.i += m[0].length;
      const ref = (m[1] ?? m[2] ?? m[3] ?? m[4]) as string;
      if (ref.startsWith('-')) throw new Refused('regex-feature', 'relative back reference');
      s.out += /^\d+$/.test(ref) ? `\\${ref}` : `\\k<${ref}>`;
      return;
    }
    case 'p':
    case 'P': {
      s.unicode = true;
      const m = /^(?:\{\^?[\w=: ]+\}|\w)/.exec(p.slice(s.i));
      if (!m) throw new Refused('regex-invalid', 'bad \\p escape');
      s.i += m[0].length;
      let prop = m[0].startsWith('{') ? m[0].slice(1, -1) : m[0];
      let neg = c === 'P';
      if (prop.startsWith('^')) {
        neg = !neg;
        prop = prop.slice(1);
      }
      prop = prop.replace(/^Is/, '').replace(/^In(?=[A-Z])/, '');
      s.out += `\\${neg ? 'P' : 'p'}{${prop}}`;
      return;
    }
    default:
      break;
  }
  if (c >= '0' && c <= '9') {
    const m = /^\d*/.exec(p.slice(s.i)) as RegExpExecArray;
    const digits = c + m[0];
    // Perl: \0… is octal; \N is a back reference when that many groups exist (else octal, up to 3 digits).
    if (c !== '0' && (Number(digits) <= s.groups || digits.length === 1)) {
      s.i += m[0].length;
      if (cls) throw new Refused('regex-feature', 'back reference in a class');
      s.out += `\\${digits}`;
      return;
    }
    const oct = /^[0-7]{1,3}/.exec(digits);
    if (!oct) throw new Refused('regex-invalid', `bad escape \\${digits}`);
    s.i += oct[0].length - 1;
    const n = parseInt(oct[0], 8);
    if (n > 0x7f) s.bytes = true;
    s.out += hex(n);
    return;
  }
  // Escaped punctuation and known letters pass through; unicode mode refuses identity escapes.
  if (/[A-Za-z]/.test(c) || SYNTAX.has(c) || (c === '-' && cls)) s.out += `\\${c}`;
  else s.out += c;
}
