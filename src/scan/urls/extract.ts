/**
 * The one URL extractor of Moat: every check that needs the links of a message (the urls check,
 * `uri` rules) calls `extractUrls(mime)` on the shared MIME parse and gets the same list. Sources:
 * text/plain parts ("text"), HTML attributes that navigate ("html-href": a, area, form action,
 * meta refresh) or load ("html-src": img, iframe, script, backgrounds, ...), and URLs written in
 * the rendered HTML text ("html-text"). Each URL is parsed as a browser would (host.ts) after
 * undoing text obfuscations (deobfuscate.ts); a redirector's target written in its query or path
 * (https://r.example/?u=https%3A%2F%2Fevil.example%2F) is one more URL, marked `via`.
 * Shorteners are flagged by host and never fetched: a gateway does not follow links of untrusted
 * mail (it would confirm the address to the sender, and the answer can differ for the reader).
 * Bounded: at most MAX_INPUT characters of each source are read, `maxUrls` distinct URLs kept,
 * and at most `maxPerHost` of them per host, so that a thousand tracking links to one host cannot
 * push a later host out of the list (`truncated` says when anything was dropped). Memoised per
 * parse and options (by value). Never throws.
 */
import type { ParsedMime } from '../mime/types.js';
import type { ObfuscationKind } from './deobfuscate.js';
import { parseUrl, type ParsedUrl } from './host.js';
import { htmlLinks } from './html-links.js';
import { textLinks } from './text-links.js';
import { DEFAULT_SHORTENERS } from './config.js';

export { DEFAULT_SHORTENERS };

export type UrlSource = 'text' | 'html-href' | 'html-src' | 'html-text';

export interface ExtractedUrl {
  /** Normalised (WHATWG serialisation): lower-case A-label host, default port dropped. */
  readonly url: string;
  /** As written in the message, text obfuscations undone (schemeless text links get "http://"); may equal `url`. */
  readonly written: string;
  /** Lower-case, IDNA A-labels (domainToASCII); IPv6 literals in brackets. */
  readonly host: string;
  /** By the public suffix list (tldts); null for IP literals and hosts under no known suffix. */
  readonly registrableDomain: string | null;
  readonly source: UrlSource;
  /** For a and area hrefs: the visible text (area: alt), whitespace collapsed; null otherwise. */
  readonly linkText: string | null;
  /** The HTML element it came from ("a", "img", "form", "meta", ...); null for text. */
  readonly element: string | null;
  /** The host is an IP literal: the address in canonical form. */
  readonly ip: string | null;
  /** Userinfo before the host (http://bank.example@evil.example/ → "bank.example"), null when none. */
  readonly userinfo: string | null;
  /** How the URL was hidden; empty when written plainly. */
  readonly obfuscations: readonly ObfuscationKind[];
  /** The host is a known URL shortener (not expanded). */
  readonly shortener: boolean;
  /** Found inside another URL (a redirector's parameter): that URL's host; null otherwise. */
  readonly via: string | null;
  /** A form's action whose form asks for a password, PIN, card, account or login. */
  readonly asksCredentials: boolean;
}

export interface ExtractOptions {
  /** Distinct URLs kept per message. */
  readonly maxUrls: number;
  /** Distinct URLs kept per host (the rest of that host's are dropped, other hosts still count). */
  readonly maxPerHost: number;
  /** Shortener hosts (a host or any of its subdomains). */
  readonly shorteners: readonly string[];
}

export interface UrlSet {
  readonly urls: readonly ExtractedUrl[];
  /** More distinct URLs were found than `maxUrls`. */
  readonly truncated: boolean;
}

export const DEFAULT_EXTRACT: ExtractOptions = { maxUrls: 500, maxPerHost: 20, shorteners: DEFAULT_SHORTENERS };

/** Characters of each source read (text, HTML, rendered HTML text). */
export const MAX_INPUT = 2 * 1024 * 1024;
/** Redirect targets taken from one URL's query and path. */
const MAX_VIA = 2;
const EMBEDDED = /(?:https?|ftp):\/\/[^\s&"'<>]+/gi;

function isShortener(host: string, list: readonly string[]): boolean {
  return list.some((s) => host === s || host.endsWith(`.${s}`));
}

function decodeOnce(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** URLs written in the query or path of `p` (open redirectors, click trackers). */
function embedded(p: ParsedUrl): ParsedUrl[] {
  let u: URL;
  try {
    u = new URL(p.url);
  } catch {
    return [];
  }
  const rest = decodeOnce(`${u.pathname}${u.search}`);
  if (!/(?:https?|ftp):\/\//i.test(rest)) return [];
  const out: ParsedUrl[] = [];
  for (const m of rest.matchAll(EMBEDDED)) {
    const q = parseUrl(m[0]);
    if (q !== null && q.host !== p.host) out.push(q);
    if (out.length >= MAX_VIA) break;
  }
  return out;
}

class Collector {
  readonly urls: ExtractedUrl[] = [];
  private readonly seen = new Set<string>();
  private readonly perHost = new Map<string, number>();
  truncated = false;

  constructor(private readonly o: ExtractOptions) {}

  get full(): boolean {
    return this.urls.length >= this.o.maxUrls;
  }

  add(p: ParsedUrl, source: UrlSource, element: string | null, linkText: string | null, extra: readonly ObfuscationKind[] = [], credentials = false): void {
    this.one(p, source, element, linkText, null, extra, credentials);
    if (p.ip === null) for (const q of embedded(p)) this.one(q, source, element, null, p.host, [], false);
  }

  private one(p: ParsedUrl, source: UrlSource, element: string | null, linkText: string | null, via: string | null, extra: readonly ObfuscationKind[], credentials: boolean): void {
    const key = `${source}\0${element ?? ''}\0${p.url}\0${linkText ?? ''}\0${via ?? ''}\0${credentials ? 1 : 0}`;
    if (this.seen.has(key)) return;
    const n = this.perHost.get(p.host) ?? 0;
    if (this.full || n >= this.o.maxPerHost) {
      this.truncated = true;
      return;
    }
    this.seen.add(key);
    this.perHost.set(p.host, n + 1);
    this.urls.push({
      url: p.url,
      written: p.written,
      host: p.host,
      registrableDomain: p.registrableDomain,
      source,
      linkText,
      element,
      ip: p.ip,
      userinfo: p.userinfo,
      obfuscations: [...new Set([...p.obfuscations, ...extra])],
      shortener: isShortener(p.host, this.o.shorteners),
      via,
      asksCredentials: credentials,
    });
  }
}

function collect(m: ParsedMime, o: ExtractOptions): UrlSet {
  const c = new Collector(o);
  // Candidates per source: duplicates and per-host overflow still count toward this bound.
  const budget = Math.max(64, o.maxUrls * 8);
  for (const l of textLinks(m.text.slice(0, MAX_INPUT), budget)) c.add(l, 'text', null, null);
  if (m.html !== '') {
    for (const l of htmlLinks(m.html.slice(0, MAX_INPUT), budget)) {
      const p = l.base !== null ? parseUrl(l.value, l.base) : parseUrl(l.value);
      if (p !== null) c.add(p, l.kind, l.element, l.linkText, l.entityHost ? ['entity-host'] : [], l.credentials);
    }
    for (const l of textLinks(m.htmlText.slice(0, MAX_INPUT), budget)) c.add(l, 'html-text', null, null);
  }
  return { urls: c.urls, truncated: c.truncated };
}

const memo = new WeakMap<ParsedMime, Map<string, UrlSet>>();

/**
 * The URLs of a message and whether the bound cut them, memoised per parse and options by value:
 * the urls check (its config's options) and the `uri` rules (DEFAULT_EXTRACT) share one extraction
 * whenever the options are equal.
 */
export function extractUrlSet(mime: ParsedMime, options: ExtractOptions = DEFAULT_EXTRACT): UrlSet {
  let byOptions = memo.get(mime);
  if (!byOptions) {
    byOptions = new Map();
    memo.set(mime, byOptions);
  }
  const key = `${options.maxUrls}/${options.maxPerHost}/${options.shorteners.join(' ')}`;
  let set = byOptions.get(key);
  if (!set) {
    try {
      set = collect(mime, options);
    } catch {
      // A bug here must not fail the message: no URLs is what a parse without links gives.
      set = { urls: [], truncated: false };
    }
    byOptions.set(key, set);
  }
  return set;
}

/** The URLs of a message, in document order by source (text, HTML attributes, HTML text). */
export function extractUrls(mime: ParsedMime, options: ExtractOptions = DEFAULT_EXTRACT): ExtractedUrl[] {
  return [...extractUrlSet(mime, options).urls];
}
