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
  try {
    return new TextDecoder((charset.split('*')[0] ?? charset).toLowerCase()).decode(bytes);
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
