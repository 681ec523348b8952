/**
 * URI blocklist lookups over DNS: for each distinct registrable domain of the message's URLs,
 * `<domain>.<zone>` A; for each IPv4 literal, `<d.c.b.a>.<zone>` (the DNSBL order, RFC 5782 §2.1
 * and §2.3 for domain lists). At most `maxLookups` names per message (domains of navigating links
 * first, then text, then loaded resources), shorteners skipped (a list cannot judge the link
 * behind them). All queries of a message run at once through the one resolver (its cache and
 * in-flight joining apply).
 * Fails safe: a DNS error (timeout, SERVFAIL, ...) is reported per zone as URIBL_ERROR, transient
 * and with score 0 — it can never lead to a reject or a defer; answers by which a list refuses us
 * (zones.ts) are URIBL_BLOCKED, score 0, so that the operator sees the list is not working.
 */
import type { Resolver } from '../../platform/dns/index.js';
import type { Finding } from '../../pipeline/types.js';
import type { ExtractedUrl } from './extract.js';
import { isListing, isRefusalAnswer, type Zone } from './zones.js';

export interface LookupTarget {
  /** A registrable domain (A-labels) or an IPv4 address. */
  readonly name: string;
  readonly kind: 'domain' | 'ip';
}

const ORDER: Readonly<Record<ExtractedUrl['source'], number>> = { 'html-href': 0, text: 1, 'html-src': 2, 'html-text': 3 };
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The distinct names to ask about, most telling first, at most `max`. */
export function lookupTargets(urls: readonly ExtractedUrl[], max: number): LookupTarget[] {
  const sorted = [...urls].sort((a, b) => ORDER[a.source] - ORDER[b.source]);
  const out: LookupTarget[] = [];
  const seen = new Set<string>();
  for (const u of sorted) {
    if (out.length >= max) break;
    if (u.shortener) continue;
    const t: LookupTarget | null = u.ip !== null ? (IPV4.test(u.ip) ? { name: u.ip, kind: 'ip' } : null) : u.registrableDomain !== null ? { name: u.registrableDomain, kind: 'domain' } : null;
    if (t === null || seen.has(t.name)) continue;
    seen.add(t.name);
    out.push(t);
  }
  return out;
}

function queryName(t: LookupTarget, zone: Zone): string | null {
  const left = t.kind === 'ip' ? t.name.split('.').reverse().join('.') : t.name;
  const name = `${left}.${zone.zone}`;
  return name.length > 253 ? null : name;
}

/** The findings of every zone for `targets`. */
export async function uriblFindings(resolver: Resolver, zones: readonly Zone[], targets: readonly LookupTarget[], signal: AbortSignal): Promise<Finding[]> {
  const jobs = zones.flatMap((zone) =>
    targets
      .filter((t) => (t.kind === 'ip' ? zone.ips : zone.domains))
      .map(async (t) => {
        const name = queryName(t, zone);
        if (name === null) return { zone, t, kind: 'skip' as const };
        const a = await resolver.lookup(name, 'A', signal);
        if (a.kind === 'error') return { zone, t, kind: 'error' as const, code: a.code };
        if (a.kind === 'none') return { zone, t, kind: 'none' as const };
        const hits = a.records.filter((r) => isListing(zone, r));
        if (hits.length > 0) return { zone, t, kind: 'listed' as const, answers: hits };
        const refused = a.records.filter(isRefusalAnswer);
        return refused.length > 0 ? { zone, t, kind: 'blocked' as const, answers: refused } : { zone, t, kind: 'none' as const };
      }),
  );
  const results = await Promise.all(jobs);
  const out: Finding[] = [];
  for (const zone of zones) {
    const mine = results.filter((r) => r.zone === zone);
    const listed = mine.flatMap((r) => (r.kind === 'listed' ? [`${r.t.name} (${r.answers.join(',')})`] : []));
    if (listed.length > 0) out.push({ symbol: zone.symbol, detail: listed.slice(0, 5).join(', ') + (listed.length > 5 ? `, +${listed.length - 5}` : '') });
    const blocked = mine.flatMap((r) => (r.kind === 'blocked' ? r.answers : []));
    if (blocked.length > 0) out.push({ symbol: 'URIBL_BLOCKED', detail: `${zone.zone} refuses our queries (${[...new Set(blocked)].join(',')})` });
    const errors = mine.flatMap((r) => (r.kind === 'error' ? [r.code] : []));
    if (errors.length > 0) out.push({ symbol: 'URIBL_ERROR', detail: `${zone.zone}: ${[...new Set(errors)].join(',')} for ${errors.length} of ${mine.length} queries`, transient: true });
  }
  return out;
}
