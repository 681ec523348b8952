/**
 * URI blocklist zones (SURBL, URIBL, Spamhaus DBL style) in the site syntax of Postfix's
 * postscreen_dnsbl_sites, with a score instead of a weight:
 *
 *   zone    = domain [ "=" filter ] [ "*" score ]     e.g. multi.surbl.org=127.0.0.[2..255]*4
 *   filter  = field "." field "." field "." field     (optionally all inside one "[...]")
 *   field   = octet | "[" member *( ";" member ) "]"
 *   member  = octet | octet ".." octet
 *   score   = a decimal number, default 3
 *
 * A zone without a filter lists a name for any answer in 127.0.0.0/8 except the answers lists
 * use to say "you may not ask" (127.0.0.1 from URIBL and SURBL, 127.255.255.0/24 from Spamhaus,
 * e.g. 127.255.255.254 for a query through a public resolver): those are reported as
 * URIBL_BLOCKED, never as a listing, with or without a filter. Each zone gets a symbol:
 * its `name`, or URIBL_<ZONE>.
 * The filter grammar and matching are the dnsbl check's (src/checks/dnsbl/sites.ts), so both
 * checks read the same syntax the same way; the zone, score and symbol rules are this file's.
 * Trusts nothing. Fails: returns typed errors with precise messages, never throws.
 */
import { matchesFilter, splitFilter, SYMBOL_RE, type Filter, type Result } from '../../checks/dnsbl/sites.js';

export { matchesFilter, parseFilter, type Filter } from '../../checks/dnsbl/sites.js';

export interface Zone {
  /** Lower-case, no trailing dot. */
  readonly zone: string;
  readonly filter: Filter | null;
  readonly filterText: string | null;
  readonly score: number;
  readonly symbol: string;
  /** Query registrable domains of URL hosts. */
  readonly domains: boolean;
  /** Query IPv4 literals of URL hosts (reversed octets). */
  readonly ips: boolean;
}

export type ZoneEntry =
  | string
  | {
      readonly zone: string;
      readonly name?: string | undefined;
      readonly score?: number | undefined;
      readonly domains?: boolean | undefined;
      readonly ips?: boolean | undefined;
    };

export const DEFAULT_ZONE_SCORE = 3;
export const RESERVED: ReadonlySet<string> = new Set(['URIBL_BLOCKED', 'URIBL_ERROR']);
const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
/** Room left for the queried name: a registrable domain of up to 253 - this - 1 octets. */
export const MAX_ZONE_LENGTH = 128;

const fail = <T>(error: string): Result<T> => ({ ok: false, error });

/** An answer by which a list refuses to answer us (rate limit, public resolver), not a listing. */
export function isRefusalAnswer(ipv4: string): boolean {
  return ipv4 === '127.0.0.1' || ipv4.startsWith('127.255.255.');
}

/** Whether `answer` lists the queried name in `zone`. */
export function isListing(zone: Zone, answer: string): boolean {
  if (isRefusalAnswer(answer)) return false;
  return zone.filter !== null ? matchesFilter(zone.filter, answer) : answer.startsWith('127.');
}

function checkZone(domain: string): Result<string> {
  const zone = (domain.endsWith('.') ? domain.slice(0, -1) : domain).toLowerCase();
  const labels = zone.split('.');
  if (labels.length < 2) return fail(`"${domain}": a zone needs at least two labels (e.g. "multi.surbl.org")`);
  const bad = labels.find((l) => l.length > 63 || !LABEL_RE.test(l));
  if (bad !== undefined) return fail(`"${domain}": invalid label "${bad}" (letters, digits, "-", "_"; at most 63)`);
  if (zone.length > MAX_ZONE_LENGTH) return fail(`"${domain}": ${zone.length} octets; at most ${MAX_ZONE_LENGTH} leave room for the domain queried`);
  return { ok: true, value: zone };
}

/** URIBL_MULTI_SURBL_ORG */
export function derivedSymbol(zone: string): string {
  return `URIBL_${zone.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
}

/** One config entry as a zone. */
export function parseZone(entry: ZoneEntry): Result<Zone> {
  const o = typeof entry === 'string' ? { zone: entry } : entry;
  let rest = o.zone.trim();
  if (rest === '' || /\s|,/.test(rest)) return fail(`"${o.zone}": one zone per entry, without spaces or commas`);
  let score = o.score ?? DEFAULT_ZONE_SCORE;
  const star = rest.indexOf('*');
  if (star !== -1) {
    const w = rest.slice(star + 1);
    if (!/^[+-]?\d{1,4}(?:\.\d{1,3})?$/.test(w)) return fail(`"${o.zone}": score "${w}" is not a number`);
    if (o.score !== undefined) return fail(`"${o.zone}": give the score once, in the zone or as "score"`);
    score = Number(w);
    rest = rest.slice(0, star);
  }
  if (!Number.isFinite(score) || Math.abs(score) > 1000) return fail(`"${o.zone}": score ${score} is outside -1000..1000`);
  const split = splitFilter(rest);
  if (!split.ok) return fail(`"${o.zone}": ${split.error}`);
  const { filter, filterText } = split.value;
  const zone = checkZone(split.value.domain);
  if (!zone.ok) return zone;
  const symbol = o.name ?? derivedSymbol(zone.value);
  if (!SYMBOL_RE.test(symbol)) return fail(`"${symbol}": symbol names are upper-case letters, digits and _`);
  if (RESERVED.has(symbol) || /^(?:URL|HTML)_/.test(symbol)) return fail(`"${symbol}" is reserved for the check itself (URIBL_BLOCKED, URIBL_ERROR, URL_*, HTML_*)`);
  const domains = o.domains ?? true;
  const ips = o.ips ?? true;
  if (!domains && !ips) return fail(`"${o.zone}": domains and ips are both off: nothing to ask`);
  return { ok: true, value: { zone: zone.value, filter, filterText, score, symbol, domains, ips } };
}

/** Every entry as a zone; errors carry the index of the entry. */
export function parseZones(entries: readonly ZoneEntry[]): { ok: true; zones: Zone[] } | { ok: false; errors: { index: number; message: string }[] } {
  const zones: Zone[] = [];
  const errors: { index: number; message: string }[] = [];
  const bySymbol = new Map<string, number>();
  entries.forEach((e, index) => {
    const r = parseZone(e);
    if (!r.ok) {
      errors.push({ index, message: r.error });
      return;
    }
    const first = bySymbol.get(r.value.symbol);
    if (first !== undefined) {
      errors.push({ index, message: `symbol ${r.value.symbol} already names zones[${first}]; give this entry its own name: { zone: "...", name: "URIBL_..." }` });
      return;
    }
    bySymbol.set(r.value.symbol, index);
    zones.push(r.value);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, zones };
}
