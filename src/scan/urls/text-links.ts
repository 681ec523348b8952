/**
 * URL candidates in plain text (text/plain parts, the rendered HTML text, a link's visible
 * text): after undoing obfuscations (deobfuscate.ts), every scheme URL (http, https, ftp), every
 * www. name, and bare domain names — the last only when they cannot be ordinary prose or a file
 * name: the suffix must be a real public suffix, not one that reads like a file extension
 * (setup.py, notes.md, archive.zip) unless a path follows, and the name must not belong to an
 * e-mail address (the part after "@" is an address, not a link). Trailing punctuation that
 * prose puts after a URL (".", ",", ")" without its "(", quotes) is not part of it.
 * Trusts nothing; linear in the input; never throws.
 */
import { deobfuscate, kindsWithin, type ObfuscationKind } from './deobfuscate.js';
import { parseUrl, type ParsedUrl } from './host.js';

export interface TextLink extends ParsedUrl {
  /** How the candidate was written: with a scheme, starting with www., or a bare domain. */
  readonly form: 'scheme' | 'www' | 'bare';
}

const TOKEN = /[^\s<>"`\u0000-\u001f\u007f\u00a0]+/gu;
const SCHEME = /(?:https?|ftp):[\\/]{2}/i;
const WWW = /(?:^|[^\p{L}\p{N}.@_-])(www\d{0,3}\.)/iu;
const BARE = /^[\p{L}\p{N}][\p{L}\p{N}-]*(?:\.[\p{L}\p{N}][\p{L}\p{N}-]*)+\.?(?::\d{1,5})?(?:[/?#].*)?$/u;
/** Longest URL considered (browsers and servers stop near 8 KiB too); longer tokens are cut. */
const MAX_URL = 8192;
/** Public suffixes that are also common file extensions: bare "name.ext" is a file, not a link. */
const FILE_LIKE = new Set(['zip', 'mov', 'py', 'sh', 'md', 'rs', 'so', 'ps']);

function trimTrailing(s: string): string {
  let out = s;
  for (;;) {
    const last = out.at(-1);
    if (last === undefined) return out;
    if ('.,;:!?\'"»›>*'.includes(last)) out = out.slice(0, -1);
    else if (last === ')' && count(out, '(') < count(out, ')')) out = out.slice(0, -1);
    else if (last === ']' && count(out, '[') < count(out, ']')) out = out.slice(0, -1);
    else if (last === '}' && count(out, '{') < count(out, '}')) out = out.slice(0, -1);
    else return out;
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

interface Candidate {
  readonly text: string;
  readonly start: number;
  readonly form: TextLink['form'];
}

/** Where a URL starts in one whitespace-free token, if anywhere. */
function candidateIn(token: string, at: number): Candidate | null {
  if (!token.includes('.') && !token.includes(':')) return null;
  const s = SCHEME.exec(token);
  if (s) return { text: trimTrailing(token.slice(s.index)), start: at + s.index, form: 'scheme' };
  const w = WWW.exec(token);
  if (w) {
    const i = w.index + w[0].length - (w[1]?.length ?? 0);
    return { text: trimTrailing(token.slice(i)), start: at + i, form: 'www' };
  }
  if (!token.includes('.')) return null;
  const lead = /^[([{'"«‹<*]+/.exec(token)?.[0].length ?? 0;
  const text = trimTrailing(token.slice(lead));
  // user@host is an address; a token with "@" anywhere before the host is not a bare link.
  if (text.includes('@') || !BARE.test(text)) return null;
  return { text, start: at + lead, form: 'bare' };
}

function acceptBare(p: ParsedUrl, c: Candidate, kinds: readonly ObfuscationKind[]): boolean {
  if (p.ip !== null || !p.knownSuffix || p.registrableDomain === null) return false;
  const suffix = p.host.split('.').at(-1) ?? '';
  const path = /^[^/?#]+[/?#]./.test(c.text);
  if (c.form === 'bare' && FILE_LIKE.has(suffix) && !path) return false;
  // "the dot com era": a spaced " dot " makes a host only with a path or three labels or more.
  if (kinds.includes('spaced-dot') && !path && p.host.split('.').length < 3) return false;
  return true;
}

/** Every URL written in `text`, parsed, in order (duplicates kept), at most `max`. */
export function textLinks(text: string, max: number): TextLink[] {
  const out: TextLink[] = [];
  const d = deobfuscate(text);
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(d.text); m !== null && out.length < max; m = TOKEN.exec(d.text)) {
    const c = candidateIn(m[0].length > MAX_URL ? m[0].slice(0, MAX_URL) : m[0], m.index);
    if (c === null || c.text.length < 4) continue;
    const kinds = kindsWithin(d.changes, c.start, c.start + c.text.length);
    const p = parseUrl(c.form === 'scheme' ? c.text : `http://${c.text}`);
    if (p === null) continue;
    if (c.form !== 'scheme' && !acceptBare(p, c, kinds)) continue;
    if (c.form === 'scheme' && p.ip === null && !p.knownSuffix && kinds.includes('spaced-dot')) continue;
    const obfuscations = [...new Set([...kinds, ...(c.form === 'scheme' ? p.obfuscations : p.obfuscations.filter((k) => k !== 'ip-encoded'))])];
    out.push({ ...p, obfuscations, form: c.form });
  }
  return out;
}
