/**
 * The message as end-of-data checks see it: the octets received (up to the scan limit), the header
 * fields parsed once (RFC 5322 §2.2: unfolded, with their position in the content so that edits can
 * address them), the MIME parse (src/scan/mime) made once on first use and shared by every check,
 * and a stream of the whole content for scanners that want every octet (antivirus).
 * Trusts nothing: a line in the header section that is neither a field nor a continuation ends the
 * header section there, as Postfix's cleanup does, and is noted.
 */
import { mimeParser, type MimeInput, type ParsedMime } from '../scan/mime/index.js';

export interface HeaderField {
  /** The field name as written. */
  readonly name: string;
  /** Lower-case name, for lookups. */
  readonly key: string;
  /** Value after the colon, unfolded (CRLF before WSP removed), leading whitespace trimmed. */
  readonly value: string;
  /** Position of the whole field (name to final CRLF) in the content. */
  readonly start: number;
  readonly end: number;
}

export interface MessageView {
  /** Octets of the whole message as received. */
  readonly size: number;
  /** The first octets, up to the scan limit; `truncated` when the message is longer. */
  readonly raw: Buffer;
  readonly truncated: boolean;
  readonly headers: readonly HeaderField[];
  /** Offset of the first body octet (after the empty line), or raw.length when there is none. */
  readonly bodyOffset: number;
  /** The header section did not end cleanly (a line that is not a field, or no empty line). */
  readonly malformedHeader: boolean;
  header(name: string): HeaderField | undefined;
  headersNamed(name: string): HeaderField[];
  /** Every octet of the message, for scanners that stream (clamd). */
  stream(): AsyncIterable<Buffer>;
  /** The MIME parse of `raw`, made on the first call and shared by every later one (never rejects). */
  mime(): Promise<ParsedMime>;
}

/** The parse a view uses: the gateway passes one bounded by the configured scan limit. */
export type MimeParse = (view: MimeInput) => Promise<ParsedMime>;
const defaultParse: MimeParse = mimeParser();

const CR = 13;
const LF = 10;

function isFieldStart(b: Buffer, s: number, e: number): number {
  // field-name = 1*ftext, ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8); returns the colon's index or -1.
  for (let i = s; i < e; i++) {
    const c = b[i] as number;
    if (c === 58) return i > s ? i : -1;
    if (c < 33 || c > 126) return -1;
  }
  return -1;
}

export interface ParsedHeader {
  readonly headers: HeaderField[];
  readonly bodyOffset: number;
  readonly malformed: boolean;
}

/** Parses the header section of `raw` (CRLF line ends, as the SMTP engine guarantees). */
export function parseHeader(raw: Buffer): ParsedHeader {
  const headers: HeaderField[] = [];
  let pos = 0;
  let current: { name: string; colon: number; start: number; end: number } | null = null;
  const close = (): void => {
    if (!current) return;
    const value = raw
      .subarray(current.colon + 1, current.end)
      .toString('utf8')
      .replace(/\r\n(?=[ \t])/g, '')
      .replace(/\r\n$/, '')
      .replace(/^[ \t]+/, '');
    headers.push({ name: current.name, key: current.name.toLowerCase(), value, start: current.start, end: current.end });
    current = null;
  };
  while (pos < raw.length) {
    const eol = raw.indexOf(LF, pos);
    // A line cut by the scan limit runs to the end of what we have.
    const lineEnd = eol < 0 ? raw.length : eol + 1;
    const contentEnd = eol < 0 ? raw.length : eol > pos && raw[eol - 1] === CR ? eol - 1 : eol;
    if (contentEnd === pos) {
      // The empty line: the body follows.
      close();
      return { headers, bodyOffset: lineEnd, malformed: false };
    }
    const first = raw[pos] as number;
    if ((first === 32 || first === 9) && current) {
      current.end = lineEnd;
    } else {
      const colon = isFieldStart(raw, pos, contentEnd);
      if (colon < 0) {
        close();
        return { headers, bodyOffset: pos, malformed: true };
      }
      close();
      current = { name: raw.subarray(pos, colon).toString('latin1'), colon, start: pos, end: lineEnd };
    }
    pos = lineEnd;
  }
  close();
  return { headers, bodyOffset: raw.length, malformed: true };
}

export function messageView(raw: Buffer, size: number, stream: () => AsyncIterable<Buffer>, parse: MimeParse = defaultParse): MessageView {
  const parsed = parseHeader(raw);
  const byKey = new Map<string, HeaderField[]>();
  for (const h of parsed.headers) {
    const list = byKey.get(h.key);
    if (list) list.push(h);
    else byKey.set(h.key, [h]);
  }
  let mimeOnce: Promise<ParsedMime> | null = null;
  const view: MessageView = {
    size,
    raw,
    truncated: raw.length < size,
    headers: parsed.headers,
    bodyOffset: parsed.bodyOffset,
    // A message cut by the scan limit inside its header is not malformed for that.
    malformedHeader: parsed.malformed && !(raw.length < size && parsed.bodyOffset === raw.length),
    header: (name) => byKey.get(name.toLowerCase())?.[0],
    headersNamed: (name) => byKey.get(name.toLowerCase()) ?? [],
    stream,
    mime: () => (mimeOnce ??= parse({ raw: view.raw, truncated: view.truncated, headers: view.headers, malformedHeader: view.malformedHeader })),
  };
  return view;
}
