/**
 * Text primitives for DSNs: making foreign text safe, folding header fields, wrapping prose and
 * RFC 5322 dates. Everything is measured in octets (UTF-8), because the limit that matters is the
 * RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6 one: 998 octets per line, CRLF excluded.
 *
 * Trusts nothing about its input text: controls (C0, DEL, C1), bidi overrides and, for ASCII-only
 * output, every non-ASCII character become "?". Never throws; a word too long for any line is split
 * (which inserts whitespace on unfolding; see XXX below).
 */

/** RFC 5322 §2.1.1: the hard limit, without CRLF. */
export const MAX_LINE = 998;
/** RFC 5322 §2.1.1: the polite limit we fold at when we can. */
export const SOFT_LINE = 78;

// C0 controls, DEL, C1 controls, and the Unicode controls that change how text displays.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Foreign text (a downstream's reply, an ENVID) made safe for one logical line: tabs become spaces,
 * other controls "?", runs of white space one space; non-ASCII becomes "?" unless `utf8`.
 */
export function sanitize(text: string, utf8: boolean): string {
  let out = text.replace(/\t/g, ' ').replace(CONTROLS, '?');
  if (!utf8) out = out.replace(/[^\x00-\x7f]/gu, '?');
  // A lone surrogate would silently become U+FFFD when encoded; make it visible like the rest.
  return out.replace(/[\ud800-\udfff]/gu, '?').replace(/ {2,}/g, ' ').trim();
}

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Splits a word into pieces of at most `max` octets, never inside a UTF-8 sequence. */
function splitWord(word: string, max: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let size = 0;
  for (const ch of word) {
    const n = octets(ch);
    if (size + n > max && piece !== '') {
      pieces.push(piece);
      piece = '';
      size = 0;
    }
    piece += ch;
    size += n;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

/**
 * Lays words out on lines: a line breaks before a word that would pass `soft` octets, and a word
 * longer than `hard` octets is cut into pieces.
 * XXX: a cut word gains a space when the field is unfolded; only free text (a downstream's reply)
 * can hold a word of that size, and there a space is the lesser harm than a line SMTP refuses.
 */
function layout(firstPrefix: string, nextPrefix: string, words: readonly string[], soft: number, hard: number): string[] {
  const lines: string[] = [];
  let line = firstPrefix;
  let fresh = true; // nothing but the prefix on this line yet
  const room = hard - Math.max(octets(firstPrefix), octets(nextPrefix));
  for (const word of words) {
    for (const piece of octets(word) > room ? splitWord(word, room) : [word]) {
      const sep = fresh ? '' : ' ';
      if (!fresh && octets(line) + 1 + octets(piece) > soft) {
        lines.push(line);
        line = nextPrefix + piece;
      } else {
        line += sep + piece;
      }
      fresh = false;
    }
  }
  lines.push(line);
  return lines;
}

const words = (s: string): string[] => s.split(' ').filter((w) => w !== '');

/**
 * One header field, folded at white space (RFC 5322 §2.2.3) so each line stays under 78 octets when
 * it can and under 998 always. `value` must already be sanitized (no CR, LF or other controls).
 */
export function headerField(name: string, value: string): string {
  return layout(`${name}: `, ' ', words(value), SOFT_LINE, MAX_LINE).join('\r\n');
}

/** Prose wrapped at `width` octets with an indent for continuation lines; sanitized text only. */
export function wrap(text: string, width = 76, indent = ''): string {
  return layout(indent, indent, words(text), width, MAX_LINE).join('\r\n');
}

/** Cuts text to at most `max` octets at a character boundary, marking the cut. */
export function truncate(text: string, max: number): string {
  if (octets(text) <= max) return text;
  const mark = ' [...]';
  return (splitWord(text, max - mark.length)[0] ?? '') + mark;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const two = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC: "Tue, 2 Jan 2024 03:04:05 +0000". Throws on an invalid Date. */
export function rfc5322Date(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError('invalid date');
  return `${DAYS[d.getUTCDay()] ?? ''}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
