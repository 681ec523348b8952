/**
 * The DNSBL/DNSWL site grammar of Postfix's postscreen_dnsbl_sites, one site per entry:
 *
 *   site    = domain [ "=" filter ] [ "*" weight ]      e.g. zen.spamhaus.org=127.0.0.[2..11]*3
 *   filter  = field "." field "." field "." field       (optionally all inside one "[...]")
 *   field   = octet | "[" member *( ";" member ) "]"
 *   member  = octet | octet ".." octet                  (a range, start <= end)
 *   weight  = [ "+" / "-" ] 1*DIGIT                     (default 1; negative: an allowlist)
 *
 * As postscreen does: the weight is split off at the first "*", then the filter at the first "=";
 * no filter matches any answer; one site counts its weight at most once however many of its
 * answers match. Each site gets a symbol: its `name`, or DNSBL_<ZONE> (DNSWL_<ZONE> for a
 * negative weight) derived from the name shown in replies (`reply`, else the zone), so a zone that
 * carries a subscription key (Spamhaus DQS) can show, and name its symbol after, a public name.
 * Trusts: nothing. Fails: every function returns a typed error with a precise message, never throws.
 */

/** Per address field, the inclusive ranges it accepts. */
export type Filter = readonly (readonly (readonly [number, number])[])[];

export interface ParsedSite {
  /** Lower-case, no trailing dot. */
  readonly zone: string;
  readonly filter: Filter | null;
  /** The filter as written, for descriptions. */
  readonly filterText: string | null;
  readonly weight: number;
}

export interface Site extends ParsedSite {
  readonly symbol: string;
  /** The name shown in replies, logs and symbol descriptions (never a secret zone). */
  readonly display: string;
}

/** What the config may hold for one site: postscreen syntax, or that with a symbol name and a shown name. */
export type SiteEntry = string | { readonly site: string; readonly name?: string | undefined; readonly reply?: string | undefined };

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** The longest zone for which an IPv6 query name (32 nibbles, 64 octets with dots) stays within 253 octets. */
export const MAX_ZONE_LENGTH = 253 - 64;
export const SYMBOL_RE = /^[A-Z][A-Z0-9_]*$/;
const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
export const RESERVED_SYMBOLS: ReadonlySet<string> = new Set(['DNSBL_THRESHOLD', 'DNSBL_ERROR']);

const fail = <T>(error: string): Result<T> => ({ ok: false, error });

/** "127.0.>x<.1": where the parser stopped, marked as Postfix marks it. */
function at(text: string, i: number): string {
  return `at "${text.slice(0, i)}>${text.slice(i, i + 1)}<${text.slice(i + 1)}"`;
}

/** Parses an address pattern such as 127.0.[0..255].[1;3] (Postfix ip_match syntax, IPv4 only). */
export function parseFilter(pattern: string): Result<Filter> {
  let s = pattern;
  if (s.startsWith('[')) {
    let depth = 0;
    let close = -1;
    for (let j = 0; j < s.length; j++) {
      if (s[j] === '[') depth++;
      else if (s[j] === ']' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close === -1) return fail('missing "]"');
    if (close === s.length - 1) s = s.slice(1, -1);
  }
  if (s === '') return fail('empty address pattern');
  let i = 0;
  const number = (): Result<number> | null => {
    const m = /^\d+/.exec(s.slice(i));
    if (m === null) return null;
    const n = Number(m[0]);
    if (m[0].length > 3 || n > 255) return fail(`number ${m[0]} is out of range 0..255 ${at(s, i)}`);
    i += m[0].length;
    return { ok: true, value: n };
  };
  const fields: (readonly [number, number])[][] = [];
  for (let f = 0; f < 4; f++) {
    if (f > 0) {
      if (s[i] !== '.') return fail(`${i >= s.length ? 'too few fields (need 4)' : 'need "."'} ${at(s, i)}`);
      i++;
    }
    if (s[i] === '[') {
      i++;
      const ranges: (readonly [number, number])[] = [];
      for (;;) {
        const lo = number();
        if (lo === null) return fail(`need a decimal number 0..255 ${at(s, i)}`);
        if (!lo.ok) return lo;
        let hi = lo.value;
        if (s.startsWith('..', i)) {
          i += 2;
          const h = number();
          if (h === null) return fail(`numeric range error: need a number after ".." ${at(s, i)}`);
          if (!h.ok) return h;
          if (h.value < lo.value) return fail(`numeric range error: ${lo.value}..${h.value} is empty (start > end) ${at(s, i - 1)}`);
          hi = h.value;
        }
        ranges.push([lo.value, hi]);
        if (s[i] === ';') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          break;
        }
        return fail(`need ";" or "]" ${at(s, i)}`);
      }
      fields.push(ranges);
    } else {
      const n = number();
      if (n === null) return fail(`need a decimal number 0..255 or "[" ${at(s, i)}`);
      if (!n.ok) return n;
      fields.push([[n.value, n.value]]);
    }
  }
  if (i < s.length) return fail(`garbage after pattern ${at(s, i)}`);
  return { ok: true, value: fields };
}

/** Whether an IPv4 answer (dotted quad) matches the filter. */
export function matchesFilter(filter: Filter, ipv4: string): boolean {
  const octets = ipv4.split('.').map(Number);
  if (octets.length !== 4) return false;
  return filter.every((ranges, k) => ranges.some(([lo, hi]) => (octets[k] ?? -1) >= lo && (octets[k] ?? -1) <= hi));
}

function checkZone(domain: string, what: string): Result<string> {
  const zone = (domain.endsWith('.') ? domain.slice(0, -1) : domain).toLowerCase();
  if (zone === '') return fail(`${what} is empty`);
  const labels = zone.split('.');
  if (labels.length < 2) return fail(`${what} "${domain}" needs at least two labels (e.g. "zen.spamhaus.org")`);
  const bad = labels.find((l) => l.length > 63 || !LABEL_RE.test(l));
  if (bad !== undefined) return fail(`${what} "${domain}" has an invalid label "${bad}" (letters, digits, "-", "_"; at most 63)`);
  if (zone.length > MAX_ZONE_LENGTH) return fail(`${what} "${domain}" is ${zone.length} octets; at most ${MAX_ZONE_LENGTH} leave room for an IPv6 query`);
  return { ok: true, value: zone };
}

/** "zone=filter" → the zone and its parsed return-code filter (postscreen grammar); no "=": no filter. */
export function splitFilter(spec: string): Result<{ domain: string; filter: Filter | null; filterText: string | null }> {
  const eq = spec.indexOf('=');
  if (eq === -1) return { ok: true, value: { domain: spec, filter: null, filterText: null } };
  const filterText = spec.slice(eq + 1);
  const f = parseFilter(filterText);
  if (!f.ok) return { ok: false, error: `bad filter: ${f.error}` };
  return { ok: true, value: { domain: spec.slice(0, eq), filter: f.value, filterText } };
}

/** Parses one site in postscreen_dnsbl_sites syntax. */
export function parseSite(text: string): Result<ParsedSite> {
  if (/\s|,/.test(text.trim()) || text.trim() === '') return fail(`"${text}": one site per entry, without spaces or commas`);
  let rest = text.trim();
  let weight = 1;
  const star = rest.indexOf('*');
  if (star !== -1) {
    const w = rest.slice(star + 1);
    if (!/^[+-]?\d{1,4}$/.test(w)) return fail(`"${text}": weight "${w}" is not an integer`);
    weight = Number(w);
    if (Math.abs(weight) > 1000) return fail(`"${text}": weight ${weight} is outside -1000..1000`);
    rest = rest.slice(0, star);
  }
  const split = splitFilter(rest);
  if (!split.ok) return fail(`"${text}": ${split.error}`);
  const { filter, filterText } = split.value;
  const zone = checkZone(split.value.domain, 'DNSBL domain');
  if (!zone.ok) return fail(`"${text}": ${zone.error}`);
  return { ok: true, value: { zone: zone.value, filter, filterText, weight } };
}

/** DNSBL_ZEN_SPAMHAUS_ORG, or DNSWL_LIST_DNSWL_ORG for an allowlist (negative weight). */
export function derivedSymbol(display: string, weight: number): string {
  return `${weight < 0 ? 'DNSWL' : 'DNSBL'}_${display.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
}

/** Which part of an object entry an error is about (none: the entry as a whole, or a string entry). */
export type SiteField = 'site' | 'name' | 'reply';

export interface SiteError {
  readonly index: number;
  readonly field: SiteField | null;
  readonly message: string;
}

/** One config entry as a site with its symbol. */
export function buildSite(entry: SiteEntry): { ok: true; value: Site } | { ok: false; field: SiteField | null; error: string } {
  const object = typeof entry !== 'string';
  const o = object ? entry : { site: entry };
  const parsed = parseSite(o.site);
  if (!parsed.ok) return { ok: false, field: object ? 'site' : null, error: parsed.error };
  let display = parsed.value.zone;
  if (o.reply !== undefined) {
    const r = checkZone(o.reply, 'reply name');
    if (!r.ok) return { ok: false, field: 'reply', error: r.error };
    display = r.value;
  }
  const symbol = o.name ?? derivedSymbol(display, parsed.value.weight);
  if (!SYMBOL_RE.test(symbol)) return { ok: false, field: 'name', error: `"${symbol}": symbol names are upper-case letters, digits and _` };
  if (RESERVED_SYMBOLS.has(symbol)) return { ok: false, field: o.name !== undefined ? 'name' : null, error: `"${symbol}" is reserved for the check itself` };
  return { ok: true, value: { ...parsed.value, symbol, display } };
}

/** Every entry as a site; errors carry the index (and field) of the entry they are about. */
export function buildSites(entries: readonly SiteEntry[]): { ok: true; sites: Site[] } | { ok: false; errors: SiteError[] } {
  const sites: Site[] = [];
  const errors: SiteError[] = [];
  const bySymbol = new Map<string, number>();
  entries.forEach((e, index) => {
    const r = buildSite(e);
    if (!r.ok) {
      errors.push({ index, field: r.field, message: r.error });
      return;
    }
    const first = bySymbol.get(r.value.symbol);
    if (first !== undefined) {
      errors.push({ index, field: null, message: `symbol ${r.value.symbol} already names sites[${first}]; give this entry its own name: { site: "...", name: "DNSBL_..." }` });
      return;
    }
    bySymbol.set(r.value.symbol, index);
    sites.push(r.value);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, sites };
}

/** The site as written in postscreen syntax, with its shown name instead of a secret zone. */
export function describeSite(s: Site): string {
  return `${s.display}${s.filterText !== null ? `=${s.filterText}` : ''}*${s.weight}`;
}
