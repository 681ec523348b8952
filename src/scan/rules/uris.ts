/**
 * The URIs `uri` rules read: `http(s)://…` and `www.…` in the text and the HTML, and `href=`
 * values of the HTML (quoted or not), in order, each once. `www.` forms are also given with
 * `http://` in front, as SpamAssassin's canonical list does. One function, so that the URL check's
 * extractor (src/scan/urls) can replace it later without touching the rules. Bounded: at most
 * MAX_URIS URIs of at most MAX_LENGTH characters.
 */

const MAX_URIS = 1000;
const MAX_LENGTH = 2048;
const IN_TEXT = /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^[\]()]+/gi;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;

function tidy(u: string): string {
  // Sentence punctuation after a link is not part of it.
  return u.replace(/[.,;:!?]+$/, '').slice(0, MAX_LENGTH);
}

export function extractUris(text: string, html: string): string[] {
  const seen = new Set<string>();
  const add = (u: string): void => {
    const t = tidy(u.trim());
    if (t === '' || seen.size >= MAX_URIS) return;
    seen.add(t);
    if (/^www\./i.test(t)) seen.add(`http://${t}`);
  };
  for (const m of html.matchAll(HREF)) add((m[1] ?? m[2] ?? m[3] ?? '').replace(/&amp;/gi, '&'));
  for (const s of [text, html]) for (const m of s.matchAll(IN_TEXT)) add(m[0].replace(/&amp;/gi, '&'));
  return [...seen].slice(0, MAX_URIS);
}
