/**
 * Undoes the ways spam hides URLs in text from scanners (and the "defanged" URLs of security
 * mail): hxxp:// and http[:]//, [.] (.) {.} [dot] (dot) and spaced " dot ", (at) [at], Unicode full stops
 * (。．｡․﹒, which IDNA reads as label separators, UTS #46 §2.3), full-width ASCII (ｈｔｔｐ),
 * and zero-width or invisible characters (U+200B..D, U+2060, U+FEFF, U+00AD). Returns the
 * cleaned text and where each change landed in it, so that the extractor can tell which URLs
 * were obfuscated (URL_OBFUSCATED) and of what kind.
 * Trusts nothing; linear in the input (one pass per rule, no backtracking patterns). Never throws.
 */

export type ObfuscationKind =
  | 'defanged' // hxxp, [.], (dot), [:] ...
  | 'spaced-dot' // "example dot com"
  | 'unicode-dot' // U+3002 and the other full stops IDNA maps to "."
  | 'fullwidth' // U+FF01..FF5E instead of ASCII
  | 'zero-width' // invisible characters inside the URL
  | 'percent-host' // %xx in the host name
  | 'entity-host' // HTML numeric character references in the host of an href
  | 'ip-encoded' // an IPv4 address written in decimal, octal, hex or short form
  | 'backslash'; // http:\\host (browsers read "\" as "/")

export interface Change {
  /** Offsets in the cleaned text: [start, end); an empty range marks a removal at `start`. */
  readonly start: number;
  readonly end: number;
  readonly kind: ObfuscationKind;
}

export interface Deobfuscated {
  readonly text: string;
  readonly changes: readonly Change[];
}

export const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF\u00AD]/;
export const UNICODE_DOTS = /[\u3002\uFF0E\uFF61\u2024\uFE52]/;

interface Rule {
  readonly re: RegExp;
  readonly kind: ObfuscationKind;
  /** The replacement, or null to leave this match alone. */
  readonly to: (m: RegExpExecArray) => string | null;
}

const RULES: readonly Rule[] = [
  { re: /[\u200B-\u200D\u2060\uFEFF\u00AD]+/g, kind: 'zero-width', to: () => '' },
  { re: /[\uFF01-\uFF5E]+/g, kind: 'fullwidth', to: (m) => [...m[0]].map((c) => String.fromCharCode((c.codePointAt(0) ?? 0) - 0xfee0)).join('') },
  { re: /[\u3002\uFF0E\uFF61\u2024\uFE52]/g, kind: 'unicode-dot', to: () => '.' },
  {
    // hxxp://, hXXps://, h**p://, http[:]//, https[://], hxxp[:]//
    re: /\bh(tt|xx|\*\*)p(s?)(\[:\]|\[:\/\/\]|\(:\)|:)(\/\/)?/gi,
    kind: 'defanged',
    to: (m) => {
      const plain = (m[1] ?? '').toLowerCase() === 'tt' && m[3] === ':';
      if (plain) return null;
      if (m[3] !== '[://]' && m[4] === undefined) return null;
      return `http${m[2] ?? ''}://`;
    },
  },
  // [.] (.) {.} [dot] (dot) {dot} <dot>, with optional spaces inside the brackets
  { re: /\s?(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}|<dot>)\s?/gi, kind: 'defanged', to: () => '.' },
  // (at) [at] {at} <at>: a hidden e-mail address ("bob (at) example {dot} org") is an address, not a link.
  { re: /\s?(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<at>)\s?/gi, kind: 'defanged', to: () => '@' },
  // "example dot com": only between word characters; the extractor keeps such hosts only when
  // they cannot be ordinary prose (see extract.ts).
  { re: /(?<=[\p{L}\p{N}]) (?:dot|DOT|Dot) (?=[\p{L}\p{N}])/gu, kind: 'spaced-dot', to: () => '.' },
];

function applyRule(input: Deobfuscated, rule: Rule): Deobfuscated {
  const src = input.text;
  let out = '';
  let last = 0;
  const changes: Change[] = [];
  // Offsets of earlier changes move with every replacement before them.
  const shifts: { at: number; delta: number }[] = [];
  rule.re.lastIndex = 0;
  for (let m = rule.re.exec(src); m !== null; m = rule.re.exec(src)) {
    if (m[0] === '') {
      rule.re.lastIndex++;
      continue;
    }
    const to = rule.to(m);
    if (to === null) continue;
    out += src.slice(last, m.index);
    const start = out.length;
    out += to;
    changes.push({ start, end: out.length, kind: rule.kind });
    shifts.push({ at: m.index + m[0].length, delta: to.length - m[0].length });
    last = m.index + m[0].length;
  }
  if (changes.length === 0) return input;
  out += src.slice(last);
  // Prefix sums of the shifts, for a binary search per earlier change (n log n, not n²).
  const sums: number[] = [];
  for (const s of shifts) sums.push((sums.at(-1) ?? 0) + s.delta);
  const move = (pos: number): number => {
    let lo = 0;
    let hi = shifts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((shifts[mid]?.at ?? Infinity) <= pos) lo = mid + 1;
      else hi = mid;
    }
    return pos + (lo > 0 ? (sums[lo - 1] ?? 0) : 0);
  };
  return { text: out, changes: [...input.changes.map((c) => ({ start: move(c.start), end: move(c.end), kind: c.kind })), ...changes] };
}

/** The text with every known obfuscation undone, and where. */
export function deobfuscate(text: string): Deobfuscated {
  let r: Deobfuscated = { text, changes: [] };
  for (const rule of RULES) r = applyRule(r, rule);
  return r;
}

/** The kinds of the changes inside [start, end) (an empty change counts strictly inside). */
export function kindsWithin(changes: readonly Change[], start: number, end: number): ObfuscationKind[] {
  const out = new Set<ObfuscationKind>();
  for (const c of changes) {
    const inside = c.start === c.end ? c.start > start && c.start < end : c.start < end && c.end > start;
    if (inside) out.add(c.kind);
  }
  return [...out];
}
