/**
 * Header decoding for the MIME parse: every field's value with RFC 2047 encoded words decoded
 * (libmime) and raw 8-bit octets read as UTF-8 (RFC 6532) or, when they are not UTF-8, as
 * windows-1252 (what such mail nearly always is); address fields parsed leniently (postal-mime's
 * address parser, which decodes display names) into mailboxes. Trusts nothing in the input; never
 * throws: what does not parse yields no mailbox, and the anomalies are reported as problems.
 */
import libmime from 'libmime';
import { addressParser } from 'postal-mime';
import type { DecodedField, DecodedHeaders, MailboxAddress, MimeProblem } from './types.js';
import { charsetSupported } from './charset.js';

/** One field as the parse sees it: lower-case name and the raw octets of its value. */
export interface RawField {
  readonly key: string;
  readonly value: Buffer;
}

const ENCODED_WORD = /=\?([^?\s]{1,64})\?[bBqQ]\?[^?\s]*\?=/g;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const cp1252 = new TextDecoder('windows-1252');

function has8bit(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if ((b[i] as number) > 127) return true;
  return false;
}

/** Unfolds a field value (RFC 5322 §2.2.3) and reads its octets as text. */
function text(value: Buffer): { s: string; eightBit: 'none' | 'utf-8' | 'other' } {
  let s: string;
  let eightBit: 'none' | 'utf-8' | 'other' = 'none';
  if (!has8bit(value)) s = value.toString('latin1');
  else {
    try {
      s = utf8.decode(value);
      eightBit = 'utf-8';
    } catch {
      s = cp1252.decode(value);
      eightBit = 'other';
    }
  }
  return { s: s.replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n$/, '').trim(), eightBit };
}

function decodeWords(s: string): string {
  if (!s.includes('=?')) return s;
  try {
    return libmime.decodeWords(s);
  } catch {
    return s;
  }
}

function mailboxes(raw: string): MailboxAddress[] {
  if (raw === '') return [];
  try {
    return addressParser(raw, { flatten: true })
      .filter((a) => typeof a.address === 'string' && a.address !== '')
      .map((a) => ({ name: a.name.trim(), address: (a.address ?? '').trim() }));
  } catch {
    return [];
  }
}

/** Parses an RFC 5322 date-time (§3.3) leniently; null when no time can be read from it. */
export function parseDate(raw: string): number | null {
  // Comments such as "(CEST)" confuse Date.parse; remove them first.
  const t = Date.parse(raw.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim());
  return Number.isFinite(t) ? t : null;
}

/**
 * Decodes a header section. `path` names where it is ("" for the top level) in the problems
 * reported into `problems`.
 */
export function decodeHeaders(raw: readonly RawField[], path: string, problems: MimeProblem[]): DecodedHeaders {
  const fields: DecodedField[] = [];
  let eightBit: string | null = null;
  const unknownCharsets = new Set<string>();
  for (const f of raw) {
    const t = text(f.value);
    if (t.eightBit !== 'none' && eightBit === null) eightBit = `${f.key} (${t.eightBit === 'utf-8' ? 'UTF-8' : 'not UTF-8'})`;
    if (t.s.includes('=?')) {
      for (const m of t.s.matchAll(ENCODED_WORD)) {
        const cs = (m[1] ?? '').split('*')[0] ?? '';
        if (!charsetSupported(cs)) unknownCharsets.add(cs.toLowerCase());
      }
    }
    fields.push({ key: f.key, raw: t.s, value: decodeWords(t.s) });
  }
  if (eightBit !== null) problems.push({ code: 'header-8bit', path, detail: eightBit });
  if (unknownCharsets.size > 0) problems.push({ code: 'header-charset-unknown', path, detail: [...unknownCharsets].join(', ').slice(0, 200) });
  const first = (key: string): DecodedField | undefined => fields.find((f) => f.key === key);
  const value = (key: string): string | null => first(key)?.value ?? null;
  const all = (key: string): MailboxAddress[] => fields.filter((f) => f.key === key).flatMap((f) => mailboxes(f.raw));
  const date = first('date');
  return {
    fields,
    subject: value('subject'),
    from: all('from'),
    sender: all('sender')[0] ?? null,
    to: all('to'),
    cc: all('cc'),
    replyTo: all('reply-to'),
    date: date ? { raw: date.raw, time: parseDate(date.raw) } : null,
    messageId: first('message-id')?.raw ?? null,
    list: {
      id: value('list-id'),
      unsubscribe: value('list-unsubscribe'),
      unsubscribePost: value('list-unsubscribe-post'),
      post: value('list-post'),
      help: value('list-help'),
      subscribe: value('list-subscribe'),
      owner: value('list-owner'),
      archive: value('list-archive'),
    },
  };
}
