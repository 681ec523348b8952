/**
 * What the URLs of a message say without asking anyone: a link whose visible text names another
 * site than its target (the classic phishing sign), IP-literal links, obfuscated URLs, userinfo
 * tricks, shorteners, very many distinct domains, HTML forms that post credentials to a remote
 * host (forms without a password, PIN, card or login field are search boxes and surveys: on the
 * SpamAssassin corpus, a third of the hard ham has one), and homograph (mixed-script) host names. One finding per symbol, with up to five examples in the
 * detail (hosts only: paths may carry the recipient's address or a token).
 * Trusts the extractor; pure; never throws.
 */
import type { Finding } from '../../pipeline/types.js';
import type { ExtractedUrl } from './extract.js';
import { homograph } from './scripts.js';
import { textLinks } from './text-links.js';

export interface SignOptions {
  /** Distinct registrable domains at or above which URL_MANY_DOMAINS is found. */
  readonly manyDomains: number;
  /** Registrable domains of the From: addresses: links there are the sender's own redirector. */
  readonly senderDomains: readonly string[];
}

/** The site a URL belongs to: its registrable domain, else its IP, else its host. */
const site = (u: { readonly registrableDomain: string | null; readonly ip: string | null; readonly host: string }): string => u.registrableDomain ?? u.ip ?? u.host;

/** The site a link's visible text names, when the text is (or starts with) a URL or domain name. */
export function textSite(linkText: string): string | null {
  const t = linkText.trim();
  if (t === '' || t.length > 300) return null;
  const [first] = textLinks(t, 1);
  if (first === undefined) return null;
  // "Click here to visit paypal.com" is prose; only a text that is essentially the URL counts.
  const rest = t.replace(/^[^\p{L}\p{N}]+/u, '');
  if (!/^(?:(?:https?|ftp):[\\/]{2}|www\d{0,3}\.)/i.test(rest) && rest.split(/\s+/).length > 1) return null;
  return site(first);
}

/**
 * The link's visible text names a different site than the link goes to. Not when the link goes to
 * the From: domain: newsletters send "dilbert.com" through their own click counter, and a phisher
 * who forges From: gains nothing from it (the link would then go to the forged domain itself).
 */
export function textMismatch(u: ExtractedUrl, all: readonly ExtractedUrl[], senderDomains: readonly string[] = []): string | null {
  if (u.source !== 'html-href' || (u.element !== 'a' && u.element !== 'area') || u.linkText === null || u.via !== null) return null;
  const shown = textSite(u.linkText);
  if (shown === null) return null;
  const target = site(u);
  if (shown === target || senderDomains.includes(target)) return null;
  // A click tracker that carries the shown site as its target is honest about where it leads.
  if (all.some((v) => v.via === u.host && site(v) === shown)) return null;
  return `text names ${shown}, link goes to ${target}`;
}

function examples(xs: readonly string[]): string {
  const unique = [...new Set(xs)];
  return unique.slice(0, 5).join(', ') + (unique.length > 5 ? `, +${unique.length - 5}` : '');
}

export function urlSigns(urls: readonly ExtractedUrl[], o: SignOptions): Finding[] {
  const out: Finding[] = [];
  const add = (symbol: string, xs: readonly string[]): void => {
    if (xs.length > 0) out.push({ symbol, detail: examples(xs) });
  };
  add('URL_TEXT_MISMATCH', urls.flatMap((u) => textMismatch(u, urls, o.senderDomains) ?? []));
  add('URL_IP_LITERAL', urls.filter((u) => u.ip !== null).map((u) => u.host));
  add('URL_OBFUSCATED', urls.filter((u) => u.obfuscations.length > 0).map((u) => `${u.host} (${u.obfuscations.join('+')})`));
  add('URL_USERINFO', urls.filter((u) => u.userinfo !== null).map((u) => `${(u.userinfo ?? '').split(':')[0] ?? ''}@${u.host}`));
  add('URL_SHORTENER', urls.filter((u) => u.shortener).map((u) => u.host));
  const domains = new Set(urls.map(site));
  if (domains.size >= o.manyDomains) out.push({ symbol: 'URL_MANY_DOMAINS', detail: `${domains.size} distinct domains` });
  add('HTML_FORM_REMOTE', urls.filter((u) => u.element === 'form' && u.asksCredentials).map((u) => u.host));
  add('URL_IDN_MIXED_SCRIPT', urls.flatMap((u) => homograph(u.host) ?? []));
  return out;
}
