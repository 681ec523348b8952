/**
 * DNSBL and DNSWL lookups of the client address at connect (RFC 5782; sites and weights as
 * Postfix's postscreen_dnsbl_sites, see sites.ts). Every configured zone is asked once, all zones
 * at the same time: A at <reversed address>.<zone> (IPv4 octets reversed; IPv6 as 32 reversed
 * nibbles, RFC 5782 §2.4; IPv4-mapped IPv6 as IPv4). Each site whose filter matches an answer is a
 * finding of its own symbol (score: the site's weight, so a DNSWL symbol is negative), with the
 * list's TXT record, made printable and short, in the detail (logs only: a list's text is not ours
 * to show, and with weights summing over several lists no single text explains a reject).
 * The weights' sum at or above `threshold` adds DNSBL_THRESHOLD (hard reject at connect,
 * "554 5.7.1 Service unavailable; client [IP] blocked using ZONE", naming the listing site with
 * the largest weight as postscreen does); at or below `allowlistThreshold` it sets the
 * `allowlisted` fact (by "dnswl") that later checks honour.
 * Trusts: the resolver (its TTL cache and deadlines) and the operator's sites.
 * Fails: never throws and never rejects on a DNS failure. A zone whose lookup failed (timeout,
 * SERVFAIL, ...) or whose answer lies outside 127.0.0.0/8 (a broken or hijacked list, RFC 5782 §2)
 * is skipped and named in one zero-score DNSBL_ERROR finding; that finding is transient (so the
 * policy defers instead of rejecting by score) only when a skipped site was an allowlist, and then
 * no DNSBL_THRESHOLD is raised that the missing allowlist weight could have prevented.
 */
import { reverseName } from '../../platform/dns/names.js';
import type { Resolver } from '../../platform/dns/index.js';
import { connectionRefused } from '../../smtp/reply.js';
import type { Check, Finding, PhaseContext, SessionInfo, SymbolDef } from '../../pipeline/types.js';
import { plainIp } from '../client-ip.js';
import type { DnsblConfig } from './config.js';
import { buildSites, describeSite, matchesFilter, type Site } from './sites.js';

export interface DnsblPorts {
  readonly resolver: Resolver;
}

/** The name to ask for: "2.0.0.127.zen.test"; null when `ip` is not an address. */
export function queryName(ip: string, zone: string): string | null {
  const r = reverseName(ip);
  if (r === null) return null;
  return `${r.replace(/\.(in-addr|ip6)\.arpa$/, '')}.${zone}`;
}

/** "[192.0.2.1] blocked using zen.spamhaus.org; ..." — the reply maker reads the first two parts back. */
const THRESHOLD_DETAIL = /^\[([0-9a-f.:]+)\] blocked using ([a-z0-9._-]+);/;

const thresholdReply: NonNullable<SymbolDef['reply']> = (action, finding) => {
  const m = THRESHOLD_DETAIL.exec(finding.detail);
  if (action !== 'reject' || m === null) return null;
  return connectionRefused(`Service unavailable; client [${m[1] ?? ''}] blocked using ${m[2] ?? ''}`);
};

const BASE_SYMBOLS: readonly SymbolDef[] = [
  { name: 'DNSBL_THRESHOLD', description: 'The weights of the DNS lists naming the client reach checks.dnsbl.threshold', score: 0, action: 'reject', reply: thresholdReply },
  { name: 'DNSBL_ERROR', description: 'A DNS list could not be asked (timeout, SERVFAIL) or answered outside 127.0.0.0/8; it was skipped', score: 0 },
];

function isLoopbackAnswer(a: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** A list's TXT record as safe log text: printable ASCII, at most 200 characters. */
function printable(txt: readonly string[]): string {
  return txt.join('').replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 200);
}

interface ZoneResult {
  readonly zone: string;
  readonly sites: readonly Site[];
  /** null: the zone failed (reason in `problem`). */
  readonly answers: readonly string[] | null;
  readonly problem: string | null;
  txt: string | null;
}

export function dnsbl(config: DnsblConfig, ports: DnsblPorts): Check {
  const built = buildSites(config.sites);
  // The schema refused invalid sites already; this only guards a config built around it.
  if (!built.ok) throw new Error(`checks.dnsbl.sites[${built.errors[0]?.index ?? 0}]: ${built.errors[0]?.message ?? 'invalid'}`);
  const sites = built.sites;
  const zones = [...new Set(sites.map((s) => s.zone))].map((zone) => ({ zone, sites: sites.filter((s) => s.zone === zone) }));
  const symbols: SymbolDef[] = [
    ...BASE_SYMBOLS,
    ...sites.map((s) => ({
      name: s.symbol,
      description: `${s.weight < 0 ? 'Allowlisted' : 'Listed'} by ${describeSite(s)}`,
      score: s.weight,
    })),
  ];

  async function ask(ip: string, z: { zone: string; sites: readonly Site[] }, signal: AbortSignal): Promise<ZoneResult> {
    const name = queryName(ip, z.zone) as string;
    const display = z.sites[0]?.display ?? z.zone;
    const a = await ports.resolver.lookup(name, 'A', signal);
    if (a.kind === 'none') return { zone: z.zone, sites: z.sites, answers: [], problem: null, txt: null };
    if (a.kind === 'error') return { zone: z.zone, sites: z.sites, answers: null, problem: `${display}: ${a.code}`, txt: null };
    const outside = a.records.filter((r) => !isLoopbackAnswer(r));
    if (outside.length > 0) {
      return { zone: z.zone, sites: z.sites, answers: null, problem: `${display} answered ${outside.slice(0, 3).join(', ')}, outside 127.0.0.0/8: ignored (broken or hijacked list)`, txt: null };
    }
    return { zone: z.zone, sites: z.sites, answers: [...a.records], problem: null, txt: null };
  }

  async function connect(session: SessionInfo, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]> {
    const ip = plainIp(session.clientIp);
    // A client the operator allowlisted (sender-lists, which runs first) is not looked up.
    if (ip === null || zones.length === 0 || ctx.facts.allowlisted !== undefined) return [];
    const results = await Promise.all(zones.map((z) => ask(ip, z, signal)));
    const hits: { site: Site; answers: readonly string[]; zone: ZoneResult }[] = [];
    for (const r of results) {
      const answers = r.answers;
      if (answers === null || answers.length === 0) continue;
      for (const site of r.sites) {
        const filter = site.filter;
        const matched = filter === null ? answers : answers.filter((a) => matchesFilter(filter, a));
        if (matched.length > 0) hits.push({ site, answers: matched, zone: r });
      }
    }
    hits.sort((x, y) => sites.indexOf(x.site) - sites.indexOf(y.site));
    // The list's own words for each listing zone, asked together; a failure only leaves them out.
    const listing = [...new Set(hits.map((h) => h.zone))];
    await Promise.all(
      listing.map(async (r) => {
        const t = await ports.resolver.lookup(queryName(ip, r.zone) as string, 'TXT', signal);
        if (t.kind === 'ok' && t.records[0] !== undefined) r.txt = printable(t.records[0]);
      }),
    );
    const findings: Finding[] = hits.map((h) => ({
      symbol: h.site.symbol,
      detail: `${ip} ${h.site.weight < 0 ? 'allowlisted' : 'listed'} by ${describeSite(h.site)}: ${h.answers.join(', ')}${h.zone.txt ? ` "${h.zone.txt}"` : ''}`,
    }));
    const total = hits.reduce((s, h) => s + h.site.weight, 0);
    const failed = results.filter((r) => r.problem !== null);
    // What the skipped allowlists could still have taken off.
    const missing = failed.reduce((s, r) => s + r.sites.reduce((n, x) => n + Math.min(0, x.weight), 0), 0);
    if (failed.length > 0) {
      findings.push({
        symbol: 'DNSBL_ERROR',
        detail: `skipped: ${failed.map((r) => r.problem).join('; ')}${missing < 0 ? ` (allowlist weight ${missing} unknown)` : ''}`,
        transient: missing < 0,
      });
    }
    if (total >= config.threshold && total + missing >= config.threshold) {
      const top = hits.filter((h) => h.site.weight > 0).reduce((best, h) => (h.site.weight > best.site.weight ? h : best));
      findings.push({
        symbol: 'DNSBL_THRESHOLD',
        detail: `[${ip}] blocked using ${top.site.display}; score ${total} >= ${config.threshold}: ${hits.map((h) => describeSite(h.site)).join(', ')}`,
      });
    } else if (config.allowlistThreshold !== null && total <= config.allowlistThreshold && !config.observe) {
      ctx.facts.allowlisted = { by: 'dnswl', detail: `score ${total} <= ${config.allowlistThreshold}: ${hits.map((h) => describeSite(h.site)).join(', ')}` };
    }
    return findings;
  }

  return {
    name: 'dnsbl',
    symbols,
    open: (session) => ({ connect: (ctx, signal) => connect(session, ctx, signal) }),
  };
}
