/**
 * Charset conversion for the MIME parse, through libmime (iconv-lite for the legacy single- and
 * double-byte charsets: windows-125x, koi8-r, gb2312/gbk, big5, ...; encoding-japanese for
 * iso-2022-jp, shift_jis and euc-jp). A charset it does not know, or refuses (UTF-7, a known way to
 * smuggle markup past filters), is read as UTF-8 and reported as unsupported. Never throws.
 */
import libmime from 'libmime';
import { decode } from 'libmime/lib/charset.js';

const known = new Map<string, boolean>();

/** Whether libmime can decode this charset (names compared case-insensitively). */
export function charsetSupported(charset: string): boolean {
  const key = charset.trim().toLowerCase();
  if (key === '') return true;
  let ok = known.get(key);
  if (ok === undefined) {
    try {
      const s = libmime.createDecodeStream(key);
      ok = s.supported;
      s.destroy();
    } catch {
      ok = false;
    }
    // Charset names come from mail: bound the memo so that a flood of invented names cannot grow it.
    if (known.size < 1000) known.set(key, ok);
  }
  return ok;
}

/** Decodes text octets in `charset` (null: US-ASCII, read as UTF-8 so 8-bit text still shows). */
export function decodeText(content: Buffer, charset: string | null): { text: string; supported: boolean } {
  const cs = charset ?? 'utf-8';
  const supported = charsetSupported(cs);
  try {
    return { text: supported ? decode(content, cs) : content.toString('utf8'), supported };
  } catch {
    return { text: content.toString('utf8'), supported: false };
  }
}
