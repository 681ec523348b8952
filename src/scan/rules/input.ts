/**
 * What the rules read of a message, built once from the shared MIME parse (view.mime()) as
 * SpamAssassin builds it (Mail::SpamAssassin::Message, PerMsgStatus::get):
 * - headers: every field decoded (RFC 2047) and as received (`:raw`), in order; a rule on a name
 *   reads all its fields joined, each ending in "\n";
 * - body: the Subject, then the text of every text part and of the HTML rendered to text, with
 *   runs of blank lines turned into one paragraph break and every other whitespace run into one
 *   space; matched per paragraph (lines longer than 2048 characters are cut at a space);
 * - rawbody: the decoded text and HTML parts as they are (tags kept), in chunks of 2048–4096
 *   characters cut at a newline where possible;
 * - full: the message as received (octets as latin1 characters) up to the scan limit;
 * - uri: the URLs of the one URL extractor, as written and normalised (uris.ts).
 * Plain data only: it is posted to the rule thread. Trusts the parse; never throws.
 */
import { addressParser } from 'postal-mime';
import type { MessageView } from '../../pipeline/message.js';
import type { ParsedMime } from '../mime/types.js';
import { ruleUris } from './uris.js';

export interface InputField {
  /** Lower-case name. */
  readonly key: string;
  readonly name: string;
  readonly value: string;
  readonly raw: string;
}

export interface RuleInput {
  readonly headers: readonly InputField[];
  /** The SMTP MAIL FROM address ("" for the null sender), else Return-Path's. */
  readonly envelopeFrom: string;
  /** Paragraphs; the first is the Subject line ("\n" without one). */
  readonly body: readonly string[];
  readonly rawbody: readonly string[];
  readonly full: string;
  readonly uris: readonly string[];
}

const LINE = 2048;

/** SA's split_into_array_of_short_lines: lines kept with their "\n", long ones cut at a space. */
export function shortLines(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/(?<=\n)/)) {
    while (line.length > LINE) {
      const cut = line.lastIndexOf(' ', LINE) + 1 || LINE;
      out.push(line.slice(0, cut));
      line = line.slice(cut);
    }
    if (line !== '') out.push(line);
  }
  return out;
}

/** SA's split_into_array_of_short_paragraphs: chunks of 1–2 × 2048, cut at "\n", ">" or " ". */
export function shortParagraphs(text: string): string[] {
  if (text.length <= LINE) return text === '' ? [] : [text];
  const out: string[] = [];
  let ofs = 0;
  for (; text.length - ofs > 2 * LINE; ) {
    let j = -1;
    for (const sep of ['\n', '>', ' ']) {
      j = text.indexOf(sep, ofs + LINE);
      if (j >= 0 && j - ofs + 1 <= 2 * LINE) break;
      j = -1;
    }
    if (j < 0) j = ofs + LINE;
    out.push(text.slice(ofs, j + 1));
    ofs = j + 1;
  }
  if (ofs < text.length) out.push(text.slice(ofs));
  return out;
}

/** SA's whitespace handling of the rendered body (Message.pm get_body_text_array_common). */
export function renderedParagraphs(subject: string | null, parts: readonly string[]): string[] {
  const text = parts
    .filter((p) => p !== '')
    .join('\n')
    .replace(/\n+\s*\n+/g, '\x00')
    .replace(/\s+/g, ' ')
    .replace(/\x00/g, '\n');
  return shortLines(`${subject === null ? '' : subject.replace(/\s+/g, ' ')}\n${text}`);
}

function firstAddress(raw: string): { address: string; name: string } | null {
  try {
    const a = addressParser(raw, { flatten: true }).find((x) => typeof x.address === 'string' && x.address !== '');
    return a ? { address: (a.address ?? '').trim(), name: a.name.trim() } : null;
  } catch {
    return null;
  }
}

/** A header field's address or display name (`:addr`, `:name`), as PerMsgStatus::get gives them. */
export function addressPart(raw: string, part: 'addr' | 'name'): string | null {
  const a = firstAddress(raw);
  if (!a) {
    // Return-Path: <> and other bare forms.
    const m = /<([^<>]*)>/.exec(raw);
    return part === 'addr' ? (m ? (m[1] as string) : raw.trim().split(/\s+/)[0] ?? null) : null;
  }
  return part === 'addr' ? a.address : a.name.replace(/^'(.*)'$/, '$1');
}

export function buildInput(view: MessageView, m: ParsedMime, envelopeFrom: string | null, needs: { readonly full: boolean; readonly uri: boolean }): RuleInput {
  // Field names as written come from the view's header (same fields, same order).
  const headers: InputField[] = m.headers.fields.map((f, i) => {
    const h = view.headers[i];
    return { key: f.key, name: h && h.key === f.key ? h.name : f.key, value: f.value, raw: f.raw };
  });
  const returnPath = headers.find((h) => h.key === 'return-path');
  const from = envelopeFrom ?? (returnPath ? (addressPart(returnPath.raw, 'addr') ?? '') : '');
  return {
    headers,
    envelopeFrom: from,
    body: renderedParagraphs(m.headers.subject, [m.text, m.htmlText]),
    rawbody: [...shortParagraphs(m.text), ...shortParagraphs(m.html)],
    full: needs.full ? view.raw.toString('latin1').replace(/\r\n/g, '\n') : '',
    uris: needs.uri ? ruleUris(m) : [],
  };
}
