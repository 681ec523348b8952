/**
 * Active content in a PDF by a cheap byte search (ISO 32000-1): the name objects /JavaScript and
 * /JS (§12.6.4.16 JavaScript actions) and /Launch (§12.6.4.5, runs a program), also when written
 * with #xx escapes (§7.3.5: /J#61vaScript is /JavaScript). Names inside compressed object
 * streams (§7.5.7) are not seen: the antivirus check unpacks those.
 * Trusts nothing; linear in the input; never throws.
 */

export function isPdf(b: Buffer): boolean {
  return b.subarray(0, 1024).includes('%PDF-');
}

/** A name token ends at whitespace or a delimiter (§7.2.2). */
const NAME = /\/((?:[^\s/<>[\]()%{}#]|#[0-9A-Fa-f]{2})+)/g;
const ACTIVE = new Set(['JavaScript', 'JS', 'Launch']);

/** The active-content names a PDF carries, e.g. ["JavaScript", "Launch"]. */
export function pdfActiveContent(b: Buffer): string[] {
  const text = b.toString('latin1');
  const found = new Set<string>();
  // Plain names first (the usual case, one indexOf each), then the escaped ones.
  for (const n of ACTIVE) {
    const re = new RegExp(`/${n}(?=[\\s/<>\\[\\]()%{}]|$)`);
    if (re.test(text)) found.add(n);
  }
  if (text.includes('#')) {
    for (const m of text.matchAll(NAME)) {
      const raw = m[1] ?? '';
      if (!raw.includes('#')) continue;
      const name = raw.replace(/#([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      if (ACTIVE.has(name)) found.add(name);
    }
  }
  return [...found].sort();
}
