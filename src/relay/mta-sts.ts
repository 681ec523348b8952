/**
 * MTA-STS (RFC 8461): whether a recipient domain wants verified TLS toward MX hosts it names.
 * §3.1 the TXT record `_mta-sts.<domain>` ("v=STSv1; id=..."), §3.2-3.3 the policy fetched over
 * HTTPS (fetcher port: mta-sts-fetch.ts, resolved with our resolver, never the system's), §4.1 MX
 * matching (a "*." pattern matches exactly one leftmost label), §5.1 caching: a policy is kept for
 * its max_age in memory (per worker); a TXT id equal to the cached one means the cached policy
 * still holds; a missing or failing TXT, or a failing fetch, keeps a cached policy until it expires,
 * and without one the domain is treated as having no policy (§3.3, §5). Refreshes happen when the
 * TXT id changes or the cache expired.
 * Trusts: nothing; the fetcher verifies the policy host's certificate (WebPKI + outbound.tls.ca).
 * Fails: never throws; the answer is 'none' or a policy, with `problem` for logs.
 */
import type { Resolver } from '../platform/dns/index.js';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  readonly id: string;
  readonly mode: StsMode;
  readonly mx: readonly string[];
  /** Seconds (RFC 8461 §3.2: at most 31557600). */
  readonly maxAge: number;
}

export type StsAnswer = { readonly kind: 'none'; readonly problem?: string } | { readonly kind: 'policy'; readonly policy: StsPolicy; readonly cached: boolean; readonly problem?: string };

export type PolicyFetcher = (domain: string, signal: AbortSignal) => Promise<string>;

/** §3.1: "v=STSv1; id=20160831085700Z;" — exactly one such record, or none. */
export function parseStsRecord(txts: readonly string[]): { id: string } | 'none' | 'invalid' {
  const candidates = txts.filter((t) => /^v=STSv1(;|$)/.test(t.trim()));
  if (candidates.length === 0) return 'none';
  if (candidates.length > 1) return 'invalid';
  const fields = new Map((candidates[0] as string).split(';').map((f) => f.trim()).filter(Boolean).map((f) => { const eq = f.indexOf('='); return [f.slice(0, eq).trim(), f.slice(eq + 1).trim()] as const; }));
  const id = fields.get('id') ?? '';
  return /^[A-Za-z0-9]{1,32}$/.test(id) ? { id } : 'invalid';
}

/** §3.2: "version: STSv1", "mode", one or more "mx", "max_age"; CRLF or LF line ends. */
export function parseStsPolicy(text: string, id: string): StsPolicy | null {
  let version = '';
  let mode: StsMode | null = null;
  let maxAge: number | null = null;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) return null;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'version') version = value;
    else if (key === 'mode') mode = value === 'enforce' || value === 'testing' || value === 'none' ? value : null;
    else if (key === 'max_age') maxAge = /^\d{1,10}$/.test(value) ? Math.min(Number(value), 31_557_600) : null;
    else if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
  }
  if (version !== 'STSv1' || mode === null || maxAge === null) return null;
  if (mode !== 'none' && mx.length === 0) return null;
  return { id, mode, mx, maxAge };
}

/** §4.1: an MX host name matches a pattern exactly, or "*.example.com" by one leftmost label. */
export function mxMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) && !h.slice(0, h.length - p.length + 1).includes('.') && h.length > p.length - 1 : h === p));
}

export class MtaSts {
  private readonly cache = new Map<string, { policy: StsPolicy; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<StsAnswer>>();

  constructor(
    private readonly deps: { readonly resolver: Resolver; readonly fetch: PolicyFetcher; readonly now: () => number; readonly timeoutMs: () => number },
  ) {}

  /** The policy of a recipient domain (one lookup at a time per domain). */
  policyFor(domain: string): Promise<StsAnswer> {
    let p = this.inflight.get(domain);
    if (!p) {
      p = this.lookup(domain).finally(() => this.inflight.delete(domain));
      this.inflight.set(domain, p);
    }
    return p;
  }

  private cached(domain: string, problem: string): StsAnswer {
    const c = this.cache.get(domain);
    if (c && c.expiresAt > this.deps.now()) return { kind: 'policy', policy: c.policy, cached: true, problem };
    return { kind: 'none', problem };
  }

  private async lookup(domain: string): Promise<StsAnswer> {
    const txt = await this.deps.resolver.lookup(`_mta-sts.${domain}`, 'TXT');
    if (txt.kind === 'error') return this.cached(domain, `TXT _mta-sts.${domain}: ${txt.code}`);
    const record = txt.kind === 'ok' ? parseStsRecord(txt.records.map((r) => r.join(''))) : 'none';
    if (record === 'none' || record === 'invalid') {
      const c = this.cached(domain, record === 'invalid' ? 'invalid STS record' : 'no STS record');
      return c.kind === 'policy' ? c : { kind: 'none' };
    }
    const have = this.cache.get(domain);
    const now = this.deps.now();
    if (have && have.policy.id === record.id && have.expiresAt > now) return { kind: 'policy', policy: have.policy, cached: true };
    let text: string;
    try {
      text = await this.deps.fetch(domain, AbortSignal.timeout(this.deps.timeoutMs()));
    } catch (e) {
      return this.cached(domain, `policy fetch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const policy = parseStsPolicy(text, record.id);
    if (!policy) return this.cached(domain, 'policy does not parse (RFC 8461 §3.2)');
    this.cache.set(domain, { policy, expiresAt: now + policy.maxAge * 1000 });
    return { kind: 'policy', policy, cached: false };
  }
}
