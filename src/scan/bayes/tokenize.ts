/**
 * The Bayes tokenizer: what a message is made of, as a set of short strings, in the spirit of
 * SpamBayes' tokenizer and SpamAssassin's Bayes.pm. Reads the one MIME parse (view.mime()) and the
 * raw header fields; never the network.
 *  - Headers: only fields whose content says something about the sender and the software
 *    (From, To/Cc domains, Subject words, and those with capitals also as written, Reply-To, the
 *    HELO names in Received, the Message-ID domain, X-Mailer/User-Agent, Content-Type, the
 *    Date's shape and zone), each prefixed by its name so that "free" in Subject is another clue
 *    than "free" in the body.
 *  - Body: the decoded text and the rendered HTML, split on white space, lower-cased, trimmed of
 *    punctuation; words of 3-12 characters kept as they are, longer ones become "skip:C LEN" (SA's
 *    and SpamBayes' trick: long words are mostly encoded junk, their length class is the clue),
 *    numbers bucketed by digit count, URLs split into host parts and path words, email addresses
 *    into their domain; bigrams of adjacent plain words ("bi:click here") and all-capital words as
 *    written ("upper:FREE"). HTML tag names of the raw HTML (font, table, img...) and presentational
 *    attributes with their values (font color/size/face, image width/height) are clues of their own.
 * Which families are learned was measured on the train split (bench/accuracy/tokens.ts, the
 * chronological validation); families that did not help there are left out.
 *  - Attachments: declared names' extensions, declared and sniffed types; MIME structure: the
 *    content types of the parts, their transfer encodings and charsets, and the parse's problems.
 * Each token counts once per message (a set), as in SpamBayes. Bounded: at most MAX_TOKENS
 * distinct tokens and BODY_LIMIT characters of body text per message. Trusts nothing; never throws.
 */
import type { MessageView } from '../../pipeline/message.js';
import type { ParsedMime } from '../mime/types.js';

/**
 * The tokenizer's version: raised whenever a token family is added, removed or changes meaning, so
 * that a Bayes database learned by another version is noticed (index.ts, tokenizerMarker). 1: before
 * word bigrams; 2: bigrams, upper:/subjcase:/date:/htmlattr:, no Received rDNS or addresses;
 * 3: no List-Id / List-Unsubscribe / List-Post tokens.
 */
export const TOKENIZER_VERSION = 3;

/** Distinct tokens kept per message (a huge message does not make a huge lookup). */
export const MAX_TOKENS = 3000;
/** Characters of decoded text and of rendered HTML read per message. */
const BODY_LIMIT = 200_000;
const MIN_WORD = 3;
const MAX_WORD = 12;

const URL_RE = /\b(?:https?|ftp):\/\/[^\s<>"'()]+|\bwww\.[a-z0-9-]+\.[^\s<>"'()]+/gi;
const EMAIL_RE = /[\w.+-]{1,64}@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+)/gi;
const PUNCT_EDGES = /^[^\p{L}\p{N}$€£]+|[^\p{L}\p{N}%]+$/gu;
const TAG_RE = /<([a-z][a-z0-9]{0,9})\b/gi;
/**
 * Received: from HELO — the sender-given name only. The rDNS names and the /16 and /24 of the
 * addresses were tokens too; they made the chronological validation worse (bench/accuracy/tokens.ts:
 * relays change faster than spam does), so they are not learned.
 */
const RECEIVED_RE = /^from\s+(\S+)/i;
/** Presentational HTML attributes with their values: font colours, sizes and faces, image sizes. */
const ATTR_RE = /\b(color|bgcolor|size|face|width|height|border|align)\s*=\s*(?:"([^"]{0,60})"|'([^']{0,60})'|([^\s>]{1,60}))/gi;

class Bag {
  readonly set = new Set<string>();
  readonly add = (t: string): void => {
    if (this.set.size < MAX_TOKENS) this.set.add(t);
  };
}

/** A domain's labels from the right: mail.example.co.uk → co.uk, example.co.uk, mail.example.co.uk. */
function domainTokens(bag: Bag, prefix: string, domain: string): void {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.').filter((l) => l.length > 0).slice(-5);
  if (labels.length === 0) return;
  for (let i = labels.length - 1; i >= 0; i--) {
    if (labels.length - i < 2 && labels.length > 1) continue; // "com" alone says nothing
    bag.add(`${prefix}${labels.slice(i).join('.')}`);
  }
}

/** A word as a token: bounds, numbers bucketed, long words as their first character and length class. */
function wordToken(w: string, prefix: string): string | null {
  if (w.length < MIN_WORD) return null;
  if (/^\d[\d.,]*$/.test(w)) return `${prefix}num:${Math.min(w.replace(/\D/g, '').length, 12)}`;
  if (w.length > MAX_WORD) return `${prefix}skip:${w[0] ?? ''} ${Math.floor(w.length / 10) * 10}`;
  return `${prefix}${w}`;
}

function urlTokens(bag: Bag, url: string): void {
  const m = /^(?:([a-z]+):\/\/)?([^/:?#\s]+)(?::\d+)?([^\s]*)$/i.exec(url);
  if (!m) return;
  bag.add(`proto:${(m[1] ?? 'www').toLowerCase()}`);
  const host = (m[2] ?? '').toLowerCase();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) bag.add('url:ip');
  else domainTokens(bag, 'url:', host);
  const path = m[3] ?? '';
  for (const part of path.toLowerCase().split(/[/?#&=.%_-]+/).slice(0, 12)) {
    const t = wordToken(part, 'urlpath:');
    if (t) bag.add(t);
  }
}

/** Words (URLs and addresses first taken out and tokenized as such); `body`: word shapes and bigrams too. */
function textTokens(bag: Bag, text: string, prefix: string, body = false): void {
  const s = text.length > BODY_LIMIT ? text.slice(0, BODY_LIMIT) : text;
  let rest = s.replace(URL_RE, (u) => {
    urlTokens(bag, u);
    return ' ';
  });
  rest = rest.replace(EMAIL_RE, (_a, domain: string) => {
    bag.add('email:addr');
    domainTokens(bag, 'email:', domain);
    return ' ';
  });
  let prev: string | null = null;
  for (const asWritten of rest.split(/\s+/)) {
    if (asWritten.length === 0) continue;
    const raw = asWritten.toLowerCase();
    const w = raw.replace(PUNCT_EDGES, '');
    const t = wordToken(w, prefix);
    if (t) bag.add(t);
    if (body) {
      // All-capital words as written ("FREE" beside "free"): shouting is a clue of its own.
      if (t === w && w.length <= MAX_WORD && /\p{Lu}/u.test(asWritten)) {
        const cased = asWritten.replace(PUNCT_EDGES, '');
        if (cased === cased.toUpperCase()) bag.add(`upper:${cased}`);
      }
      // Word bigrams of plain words (SpamBayes tried them; on this corpus they generalize best).
      const plain = t !== null && t === w ? w : null;
      if (plain !== null && prev !== null) bag.add(`bi:${prev} ${plain}`);
      prev = plain;
    } else if (prefix === 'subject:' && t === `${prefix}${w}` && /\p{Lu}/u.test(asWritten)) bag.add(`subjcase:${asWritten.replace(PUNCT_EDGES, '')}`);
    // "$100", "100%" and runs of "!!!" are classic clues in their own right.
    if (/^\$\d/.test(raw)) bag.add('money:$');
    if (raw.includes('!!')) bag.add('punct:!!');
  }
}

function addressTokens(bag: Bag, name: string, list: readonly { readonly name: string; readonly address: string }[], words: boolean): void {
  for (const a of list.slice(0, 5)) {
    const addr = a.address.toLowerCase();
    const at = addr.lastIndexOf('@');
    if (at > 0) {
      if (words) bag.add(`${name}:addr:${addr}`);
      domainTokens(bag, `${name}:dom:`, addr.slice(at + 1));
    } else bag.add(`${name}:addr:invalid`);
    if (words) {
      if (a.name === '') bag.add(`${name}:name:none`);
      for (const w of a.name.toLowerCase().split(/[\s,."'<>()]+/)) {
        const t = wordToken(w, `${name}:name:`);
        if (t) bag.add(t);
      }
    }
  }
}

/** The Date field's shape (digits as 9, letters as a) and its zone as written: each mailer has its own. */
function dateTokens(bag: Bag, raw: string | undefined): void {
  if (raw === undefined) return;
  const v = raw.trim().slice(0, 80);
  bag.add(`date:shape:${v.replace(/\d/g, '9').replace(/[A-Za-z]/g, 'a').replace(/\s+/g, ' ')}`);
  const tz = /\s([+-]\d{4}|[A-Z]{1,5})(?:\s*\(([^)]{1,10})\))?\s*$/.exec(v);
  bag.add(`date:tz:${tz ? `${tz[1] ?? ''}${tz[2] !== undefined ? ` (${tz[2]})` : ''}` : 'none'}`);
}

function headerTokens(bag: Bag, view: MessageView, m: ParsedMime): void {
  const h = m.headers;
  addressTokens(bag, 'from', h.from, true);
  addressTokens(bag, 'reply-to', h.replyTo, true);
  addressTokens(bag, 'to', [...h.to, ...h.cc], false);
  if (h.to.length + h.cc.length === 0) bag.add('to:none');
  if (h.subject === null) bag.add('subject:none');
  else {
    textTokens(bag, h.subject, 'subject:');
    if (/[A-Z]{5,}/.test(h.subject) && h.subject === h.subject.toUpperCase()) bag.add('subject:allcaps');
  }
  dateTokens(bag, view.header('date')?.value);
  const mid = h.messageId;
  if (mid === null) bag.add('message-id:none');
  else {
    const at = mid.lastIndexOf('@');
    if (at < 0) bag.add('message-id:invalid');
    else domainTokens(bag, 'message-id:', mid.slice(at + 1).replace(/>.*$/, ''));
  }
  // List-Id, List-Unsubscribe and List-Post are not learned: on a list the ham comes through too,
  // they make the list's spam look like its ham (bench/accuracy/tokens.ts, both validations).
  for (const key of ['x-mailer', 'user-agent']) {
    const v = h.fields.find((f) => f.key === key)?.value;
    if (v !== undefined) {
      bag.add(`${key}:${v.toLowerCase().replace(/\s+/g, ' ').trim().slice(0, 40)}`);
      for (const w of v.toLowerCase().split(/[\s/();,]+/).slice(0, 6)) {
        const t = wordToken(w, `${key}:w:`);
        if (t) bag.add(t);
      }
    } else bag.add(`${key}:none`);
  }
  // The hops our side of the internet would have added: the names, as the senders gave them.
  for (const r of view.headersNamed('received').slice(0, 6)) {
    const mm = RECEIVED_RE.exec(r.value);
    if (!mm) continue;
    const helo = (mm[1] ?? '').toLowerCase();
    if (/^\[?\d+\.\d+\.\d+\.\d+\]?$/.test(helo)) bag.add('received:helo:ip');
    else if (helo.includes('.')) domainTokens(bag, 'received:helo:', helo);
    else bag.add('received:helo:bare');
  }
  const ct = h.fields.find((f) => f.key === 'content-type')?.value.toLowerCase();
  bag.add(`content-type:${ct === undefined ? 'none' : (ct.split(';')[0] ?? '').trim()}`);
}

function structureTokens(bag: Bag, m: ParsedMime): void {
  for (const p of m.parts.slice(0, 50)) {
    bag.add(`mime:type:${p.contentType}`);
    bag.add(`mime:cte:${p.transferEncoding}`);
    if (p.charset !== null) bag.add(`mime:charset:${p.charset}`);
  }
  for (const a of m.attachments.slice(0, 20)) {
    const name = a.filename?.toLowerCase() ?? '';
    const dot = name.lastIndexOf('.');
    bag.add(`attach:ext:${dot >= 0 ? name.slice(dot + 1, dot + 9) : 'none'}`);
    bag.add(`attach:type:${a.contentType}`);
    if (a.sniffedType) bag.add(`attach:sniffed:${a.sniffedType.mime}`);
  }
  for (const p of m.problems) bag.add(`mime:problem:${p.code}`);
  if (m.html !== '') {
    bag.add(m.text === '' ? 'mime:html-only' : 'mime:text-and-html');
    const html = m.html.length > BODY_LIMIT ? m.html.slice(0, BODY_LIMIT) : m.html;
    let n = 0;
    for (const t of html.matchAll(TAG_RE)) {
      bag.add(`htmltag:${(t[1] ?? '').toLowerCase()}`);
      if (++n > 2000) break;
    }
    n = 0;
    for (const a of html.matchAll(ATTR_RE)) {
      bag.add(`htmlattr:${(a[1] ?? '').toLowerCase()}=${(a[2] ?? a[3] ?? a[4] ?? '').toLowerCase().trim().slice(0, 20)}`);
      if (++n > 500) break;
    }
  }
}

/** The tokens of a message: a set of strings, at most MAX_TOKENS. */
export async function tokenize(view: MessageView): Promise<string[]> {
  const m = await view.mime();
  return tokenizeParsed(view, m);
}

export function tokenizeParsed(view: MessageView, m: ParsedMime): string[] {
  const bag = new Bag();
  headerTokens(bag, view, m);
  structureTokens(bag, m);
  textTokens(bag, m.text, '', true);
  if (m.htmlText !== '') textTokens(bag, m.htmlText, '', true);
  return [...bag.set];
}
