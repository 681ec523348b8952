/**
 * Homograph hosts: an IDN label (xn--) that mixes scripts (pаypal with a Cyrillic "а") or is
 * written wholly in Cyrillic or Greek letters that look Latin (аррӏе, under a Latin TLD such as
 * .com). The rules follow UTS #39 §5.2 "Highly Restrictive" as browsers apply it to decide when
 * to show punycode: one script per label, except Latin with Han/Hiragana/Katakana (Japanese),
 * Latin with Han/Hangul (Korean) and Latin with Han/Bopomofo (Chinese); Common and Inherited
 * characters (digits, hyphen, combining marks) go with any script.
 * Trusts nothing; pure functions; never throws.
 */
import { unicodeHost } from './host.js';

const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Georgian',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
  'Bopomofo',
  'Thai',
  'Devanagari',
  'Cherokee',
] as const;
type Script = (typeof SCRIPTS)[number] | 'Other';

const SCRIPT_RE: readonly (readonly [Script, RegExp])[] = SCRIPTS.map((s) => [s, new RegExp(`^\\p{Script=${s}}$`, 'u')] as const);
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** Sets of scripts a single label may combine (UTS #39 Highly Restrictive). */
const ALLOWED: readonly ReadonlySet<Script>[] = [
  new Set<Script>(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set<Script>(['Latin', 'Han', 'Hangul']),
  new Set<Script>(['Latin', 'Han', 'Bopomofo']),
];

/** Cyrillic letters Chromium treats as Latin lookalikes (IDN spoof checker), and their Greek kin. */
const LATIN_LOOKALIKES = /^[асԁеһіјӏорԛѕԝхуъьҽпгѵѡαικνορτυχϲϳ0-9-]+$/u;

function scriptOf(ch: string): Script | null {
  if (NEUTRAL.test(ch)) return null;
  for (const [s, re] of SCRIPT_RE) if (re.test(ch)) return s;
  return 'Other';
}

/** Why a host is a likely homograph, or null. `host` is the A-label form the URL parser gives. */
export function homograph(host: string): string | null {
  if (!host.split('.').some((l) => l.startsWith('xn--'))) return null;
  const labels = unicodeHost(host).split('.');
  const tldLatin = /^[a-z]+$/.test(labels.at(-1) ?? '');
  for (const label of labels) {
    if (/^[\x00-\x7f]*$/.test(label)) continue;
    const scripts = new Set<Script>();
    for (const ch of label) {
      const s = scriptOf(ch);
      if (s !== null) scripts.add(s);
    }
    if (scripts.size > 1 && !ALLOWED.some((a) => [...scripts].every((s) => a.has(s)))) {
      return `${label}: mixes ${[...scripts].sort().join(' and ')}`;
    }
    if (tldLatin && scripts.size === 1 && (scripts.has('Cyrillic') || scripts.has('Greek')) && LATIN_LOOKALIKES.test(label.toLowerCase())) {
      return `${label}: ${[...scripts][0] ?? ''} letters that look Latin`;
    }
  }
  return null;
}
