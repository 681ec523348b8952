/**
 * The URIs `uri` rules read: the URLs of the one URL extractor (src/scan/urls, extractUrlSet on
 * the shared MIME parse, memoised: the urls check and the rules get the same extraction), each as
 * written (text obfuscations undone; "http://" before a schemeless www. link) and, when it
 * differs, normalised as a browser reads it, as SpamAssassin's list gives raw and canonical forms.
 * So a rule sees every link the urls check judges: text, HTML links and sources, URLs in the
 * rendered HTML and redirect targets; only http, https and ftp (the extractor keeps no others).
 * In order, each once. Bounded: at most MAX_URIS URIs of at most MAX_LENGTH characters.
 */
import type { ParsedMime } from '../mime/types.js';
import { extractUrlSet } from '../urls/extract.js';

const MAX_URIS = 1000;
const MAX_LENGTH = 2048;

export function ruleUris(mime: ParsedMime): string[] {
  const seen = new Set<string>();
  for (const u of extractUrlSet(mime).urls) {
    for (const s of [u.written.trim(), u.url]) {
      if (seen.size >= MAX_URIS) return [...seen];
      if (s !== '') seen.add(s.slice(0, MAX_LENGTH));
    }
  }
  return [...seen];
}
