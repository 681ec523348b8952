/**
 * What the message log keeps of a message's content: its Subject: (RFC 2047 encoded-words decoded)
 * and Message-ID:, each bounded and stripped of control characters, so that a hostile header can
 * neither bloat the log nor forge lines in a terminal. Trusts nothing: an encoded-word with an
 * unknown charset or bad encoding is kept as written; nothing here throws.
 */
import type { MessageView } from '../pipeline/message.js';

export const SUBJECT_LIMIT = 200;
export const MESSAGE_ID_LIMIT = 250;

// RFC 2047 §2: =?charset?encoding?encoded-text?= (charset may carry an RFC 2231 "*language").
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
// §6.2: white space between two adjacent encoded-words is not displayed.
const BETWEEN_WORDS = /(\?=)[ \t]+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g;

// XXX: Node 20's TextDecoder decodes windows-1252 (and the labels WHATWG maps to it, iso-8859-1
// and us-ascii among them) as plain latin1, losing €, curly quotes and dashes at 0x80-0x9F.
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const CP1252_LABELS = new Set(['windows-1252', 'cp1252', 'iso-8859-1', 'iso8859-1', 'latin1', 'l1', 'us-ascii', 'ascii']);

function decodeWord(word: string, charset: string, encoding: string, text: string): string {
  let bytes: Buffer;
  if (encoding.toUpperCase() === 'B') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return word;
    bytes = Buffer.from(text, 'base64');
  } else {
    // §4.2: "_" is a space, =XX an octet.
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      const hex = c === '=' ? /^[0-9A-Fa-f]{2}$/.exec(text.slice(i + 1, i + 3)) : null;
      if (hex) {
        out.push(parseInt(hex[0], 16));
        i += 2;
      } else out.push(c === '_' ? 0x20 : c.charCodeAt(0) & 0xff);
    }
    bytes = Buffer.from(out);
  }
  const label = (charset.split('*')[0] ?? charset).toLowerCase();
  if (CP1252_LABELS.has(label)) return [...bytes].map((b) => (b >= 0x80 && b <= 0x9f ? (CP1252_HIGH[b - 0x80] as string) : String.fromCharCode(b))).join('');
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return word; // a charset the runtime does not know
  }
}

/** Decodes the encoded-words of an unstructured header value (RFC 2047 §5 (1)). */
export function decodeEncodedWords(value: string): string {
  return value.replace(BETWEEN_WORDS, '$1').replace(ENCODED_WORD, (word: string, charset: string, enc: string, text: string) => decodeWord(word, charset, enc, text));
}

/** Control characters become spaces; at most `limit` code points are kept. */
export function bounded(text: string, limit: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  const points = [...clean];
  return points.length > limit ? `${points.slice(0, limit - 1).join('')}…` : clean;
}

export function contentSummary(view: MessageView): { subject: string | null; messageId: string | null } {
  const subject = view.header('subject');
  const id = view.header('message-id');
  return {
    subject: subject ? bounded(decodeEncodedWords(subject.value), SUBJECT_LIMIT) : null,
    messageId: id ? bounded(id.value, MESSAGE_ID_LIMIT) : null,
  };
}
