/**
 * mime-structure: what the message's form says about it. Turns the MIME parse's problems
 * (src/scan/mime) and the header section's sanity into symbols: fields RFC 5322 §3.6 requires or
 * allows once (exactly one From and Date, at most one Subject, Message-ID, ...), a Date that names
 * no time or lies in the future, raw 8-bit header octets (RFC 5322 §2.2, RFC 6532), MIME without
 * MIME-Version (RFC 2045 §4), broken multipart or transfer encodings (RFC 2045/2046), an empty
 * body, and a text/plain alternative that says something else than its HTML. Scores are modest:
 * legitimate software gets these wrong too, so none of them alone tags a message.
 * Trusts the parse; does no I/O (the clock only, for "in the future"). Cannot fail transiently.
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { Clock } from '../../platform/clock.js';
import type { MimeProblemCode, ParsedMime } from '../mime/types.js';
export { structureSchema, type StructureConfig } from './config.js';

const SYMBOLS: readonly SymbolDef[] = [
  { name: 'MIME_MALFORMED', description: 'Broken MIME structure (boundaries, transfer encodings, nesting, header section)', score: 1.1 },
  { name: 'MIME_MISSING_VERSION', description: 'MIME parts or encodings without a MIME-Version field (RFC 2045 §4)', score: 1.1 },
  { name: 'MIME_CHARSET_UNKNOWN', description: 'Text or encoded words in a charset that cannot be decoded', score: 0.5 },
  { name: 'HEADER_8BIT_UNENCODED', description: 'Raw 8-bit octets in header fields (not RFC 2047-encoded)', score: 1.5 },
  { name: 'MISSING_FROM', description: 'No From field (RFC 5322 §3.6 requires one)', score: 2 },
  { name: 'FROM_MULTIPLE', description: 'More than one From field, or several From mailboxes without a Sender (RFC 5322 §3.6.2)', score: 1.5 },
  { name: 'MISSING_DATE', description: 'No Date field (RFC 5322 §3.6 requires one)', score: 1 },
  { name: 'DATE_INVALID', description: 'The Date field names no valid time, or a time in the future', score: 1.9 },
  { name: 'MISSING_MESSAGE_ID', description: 'No Message-ID field (RFC 5322 §3.6.4)', score: 1.0 },
  { name: 'MESSAGE_ID_MALFORMED', description: 'Message-ID is not of the form <left@right> (RFC 5322 §3.6.4)', score: 1.6 },
  { name: 'MISSING_SUBJECT', description: 'No Subject field', score: 0.01 },
  { name: 'HEADER_DUPLICATE', description: 'A field RFC 5322 §3.6 allows at most once appears more than once', score: 1.0 },
  { name: 'EMPTY_BODY', description: 'No text, no HTML text and no attachment', score: 0.7 },
  { name: 'TEXT_AND_HTML_DIFFER', description: 'The text/plain and text/html alternatives share almost no words', score: 1 },
];

const MALFORMED: ReadonlySet<MimeProblemCode> = new Set<MimeProblemCode>([
  'header-malformed',
  'boundary-missing',
  'boundary-not-found',
  'boundary-not-closed',
  'encoding-unknown',
  'encoding-on-multipart',
  'base64-invalid',
  'qp-invalid',
  'nesting-too-deep',
  'too-many-parts',
  'parse-error',
]);

/** RFC 5322 §3.6: fields that may appear at most once (From has its own symbol). */
const ONCE = ['date', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'message-id', 'in-reply-to', 'references', 'subject'];
/** How far ahead of our clock a Date may be (clock skew, time zones written wrong). */
const FUTURE_SLACK = 24 * 3600 * 1000;
const MSG_ID = /^<[^<>@\s]+@[^<>@\s]+>$/;

function words(s: string): Set<string> {
  return new Set(s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);
}

/** Both alternatives have something to say and share almost none of it. */
function textAndHtmlDiffer(m: ParsedMime): string | null {
  const texts = m.parts.filter((p) => p.kind === 'text');
  const htmls = m.parts.filter((p) => p.kind === 'html');
  // Only the plain case: one text and one HTML alternative (several parts are assembled bodies).
  if (texts.length !== 1 || htmls.length !== 1) return null;
  const a = words(m.text.slice(0, 200_000));
  const b = words(m.htmlText.slice(0, 200_000));
  if (a.size < 10 || b.size < 10) return null;
  let common = 0;
  for (const w of a) if (b.has(w)) common++;
  const overlap = common / Math.min(a.size, b.size);
  return overlap < 0.1 ? `${common} of ${Math.min(a.size, b.size)} words in common` : null;
}

export function findStructure(m: ParsedMime, now: number): Finding[] {
  const out: Finding[] = [];
  const codes = (set: (c: MimeProblemCode) => boolean): string =>
    m.problems
      .filter((p) => set(p.code))
      .map((p) => (p.path ? `${p.code}@${p.path}` : p.code))
      .join(', ');
  const malformed = codes((c) => MALFORMED.has(c));
  if (malformed) out.push({ symbol: 'MIME_MALFORMED', detail: malformed });
  if (m.problems.some((p) => p.code === 'mime-version-missing')) out.push({ symbol: 'MIME_MISSING_VERSION' });
  const charsets = m.problems.filter((p) => p.code === 'charset-unknown' || p.code === 'header-charset-unknown').map((p) => p.detail);
  if (charsets.length > 0) out.push({ symbol: 'MIME_CHARSET_UNKNOWN', detail: [...new Set(charsets)].join(', ') });
  const eightBit = m.problems.find((p) => p.code === 'header-8bit' && p.path === '');
  // Valid UTF-8 is legal under RFC 6532 (SMTPUTF8); it counts a third.
  if (eightBit) out.push({ symbol: 'HEADER_8BIT_UNENCODED', detail: eightBit.detail, weight: eightBit.detail.includes('not UTF-8') ? 1 : 1 / 3 });

  const h = m.headers;
  const count = (k: string): number => h.fields.filter((f) => f.key === k).length;
  const froms = count('from');
  if (froms === 0) out.push({ symbol: 'MISSING_FROM' });
  else if (froms > 1) out.push({ symbol: 'FROM_MULTIPLE', detail: `${froms} From fields` });
  else if (h.from.length > 1 && h.sender === null) out.push({ symbol: 'FROM_MULTIPLE', detail: `${h.from.length} mailboxes without Sender` });
  if (h.date === null) out.push({ symbol: 'MISSING_DATE' });
  else if (h.date.time === null) out.push({ symbol: 'DATE_INVALID', detail: h.date.raw.slice(0, 80) });
  else if (h.date.time > now + FUTURE_SLACK) out.push({ symbol: 'DATE_INVALID', detail: `in the future: ${h.date.raw.slice(0, 80)}` });
  if (h.messageId === null) out.push({ symbol: 'MISSING_MESSAGE_ID' });
  else if (!MSG_ID.test(h.messageId.trim())) out.push({ symbol: 'MESSAGE_ID_MALFORMED', detail: h.messageId.slice(0, 80) });
  if (count('subject') === 0) out.push({ symbol: 'MISSING_SUBJECT' });
  const dup = ONCE.filter((k) => count(k) > 1);
  if (dup.length > 0) out.push({ symbol: 'HEADER_DUPLICATE', detail: dup.join(', ') });

  if (m.text.trim() === '' && m.htmlText.trim() === '' && m.attachments.length === 0 && !m.truncated) out.push({ symbol: 'EMPTY_BODY' });
  const differ = textAndHtmlDiffer(m);
  if (differ) out.push({ symbol: 'TEXT_AND_HTML_DIFFER', detail: differ });
  return out;
}

export function structureCheck(clock: Clock): Check {
  return {
    name: 'mime-structure',
    symbols: SYMBOLS,
    open: () => ({
      data: async (message) => findStructure(await message.mime(), clock.now()),
    }),
  };
}
