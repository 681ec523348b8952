/**
 * Sender patterns: shell-style globs over the whole address, "*" any run of characters (also
 * none, also "@" and "."), "?" exactly one; nothing else is special. Matching ignores case and
 * runs in O(pattern × address) with one backtrack point (no regular expression, so no
 * catastrophic backtracking whatever the operator writes). Compiled once per config.
 */

export class Glob {
  private readonly p: readonly string[];

  constructor(readonly source: string) {
    this.p = [...source.toLowerCase()];
  }

  /** Whether the whole (already lower-cased) text matches. */
  matches(text: string): boolean {
    const p = this.p;
    const s = [...text];
    let pi = 0;
    let si = 0;
    let star = -1;
    let mark = 0;
    while (si < s.length) {
      if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
        pi++;
        si++;
      } else if (pi < p.length && p[pi] === '*') {
        star = pi++;
        mark = si;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length && p[pi] === '*') pi++;
    return pi === p.length;
  }
}
