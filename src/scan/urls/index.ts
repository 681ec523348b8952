/**
 * urls: what the links of a message say (CONVENTIONS.md 3: findings only, the policy decides).
 * At end of data it extracts the URLs once from the shared MIME parse (extract.ts), finds the
 * signs links give without asking anyone (signs.ts: URL_TEXT_MISMATCH, URL_IP_LITERAL,
 * URL_OBFUSCATED, URL_USERINFO, URL_SHORTENER, URL_MANY_DOMAINS, HTML_FORM_REMOTE,
 * URL_IDN_MIXED_SCRIPT) and asks the configured URI blocklists about the domains (uribl.ts).
 * Scores are modest and nothing rejects by default: links alone rarely prove spam.
 * Trusts the parse; talks only to the resolver port. Fails safe: a DNS failure is a transient
 * URIBL_ERROR finding with score 0 (never a reject, never a defer); the check itself does not
 * throw on any message.
 */
import type { Check, SymbolDef } from '../../pipeline/types.js';
import type { Resolver } from '../../platform/dns/index.js';
import type { UrlsConfig } from './config.js';
import { extractUrlSet, type ExtractOptions } from './extract.js';
import { registrableOf } from './host.js';
import { urlSigns } from './signs.js';
import { lookupTargets, uriblFindings } from './uribl.js';
import { parseZones, type Zone } from './zones.js';

export { urlsSchema, type UrlsConfig } from './config.js';
export { extractUrls, extractUrlSet, DEFAULT_EXTRACT, DEFAULT_SHORTENERS, type ExtractedUrl, type ExtractOptions, type UrlSet, type UrlSource } from './extract.js';

const FIXED: readonly SymbolDef[] = [
  { name: 'URL_TEXT_MISMATCH', description: 'A link whose visible text is a URL or domain of another site than the one it goes to (phishing)', score: 2.4 },
  { name: 'URL_IP_LITERAL', description: 'A link to an IP address instead of a host name', score: 1.5 },
  { name: 'URL_OBFUSCATED', description: 'A URL hidden from scanners: hxxp, [.], encoded IP, %-encoded or entity-encoded host, Unicode dots, full-width or zero-width characters', score: 2 },
  { name: 'URL_USERINFO', description: 'A URL with user@ before the host (http://bank.example@evil.example/ goes to evil.example)', score: 2 },
  { name: 'URL_SHORTENER', description: 'A link through a URL shortener (not expanded: a gateway does not follow links)', score: 0.5 },
  { name: 'URL_MANY_DOMAINS', description: 'Links to very many distinct domains (newsletters do this as often as spam: score 0 by default)', score: 0 },
  { name: 'HTML_FORM_REMOTE', description: 'An HTML form asking for a password, PIN, card or login that posts to a remote host (credential phishing)', score: 2.1 },
  { name: 'URL_IDN_MIXED_SCRIPT', description: 'A host name that mixes scripts or spells Latin-looking words in Cyrillic or Greek (homograph)', score: 2.5 },
  { name: 'URIBL_BLOCKED', description: 'A URI blocklist refused our queries (answer 127.0.0.1 or 127.255.255.x: rate limit or public resolver); not a listing', score: 0 },
  { name: 'URIBL_ERROR', description: 'A URI blocklist could not be asked (DNS timeout or error); never rejects', score: 0 },
];

export function urlsCheck(config: UrlsConfig, ports: { readonly resolver: Resolver }): Check {
  const parsed = parseZones(config.zones);
  // The schema validated the zones; this only fails if the config bypassed it.
  if (!parsed.ok) throw new Error(`checks.urls.zones[${parsed.errors[0]?.index ?? 0}]: ${parsed.errors[0]?.message ?? 'invalid'}`);
  const zones: readonly Zone[] = parsed.zones;
  const extract: ExtractOptions = { maxUrls: config.maxUrls, maxPerHost: config.maxPerHost, shorteners: config.shorteners };
  const symbols: SymbolDef[] = [
    ...FIXED,
    ...zones.map((z) => ({ name: z.symbol, description: `Links to a domain or IP listed in ${z.zone}${z.filterText !== null ? ` (${z.filterText})` : ''}`, score: z.score })),
  ];
  return {
    name: 'urls',
    symbols,
    open: () => ({
      data: async (message, _ctx, signal) => {
        const mime = await message.mime();
        const set = extractUrlSet(mime, extract);
        const senderDomains = mime.headers.from.flatMap((a) => registrableOf(a.address.split('@').at(-1) ?? '') ?? []);
        const findings = urlSigns(set.urls, { manyDomains: config.manyDomains, senderDomains });
        if (zones.length > 0) findings.push(...(await uriblFindings(ports.resolver, zones, lookupTargets(set.urls, config.maxLookups), signal)));
        return findings;
      },
    }),
  };
}
