/**
 * SPF (RFC 7208) at MAIL: check_host() for the MAIL FROM domain against the client IP, or for the
 * HELO name when the reverse-path is null (§2.4: the HELO identity, as "postmaster@helo"). The
 * evaluation is mailauth 4.x's, fed by our resolver through nodeStyleResolve (never the system
 * resolver); mailauth enforces the §4.6.4 limits (10 DNS-querying terms, 2 void lookups →
 * permerror).
 *
 * Writes the `spf` transaction fact (result and domain, for DMARC alignment in src/scan/auth) and the
 * RFC 8601 method result (`spf=pass smtp.mailfrom=example.org`, `smtp.helo=` for the null sender).
 * Reports one SPF_<RESULT> symbol. No default hard action: DMARC decides what an unaligned or failed
 * SPF means; an operator who rejects "-all" fails sets `policy.symbols.SPF_FAIL.action: reject` and
 * the reply is 550 5.7.23 (RFC 7372). That reply names the domain but never carries the domain's
 * exp= text (mailauth 4 does not evaluate exp=, and it is text chosen by the sender's DNS).
 *
 * Trusts: mailauth's SPF evaluation. Fails: a DNS failure or the phase deadline gives temperror, a
 * transient SPF_TEMPERROR finding with score 0 and no action (never a reject); mailauth throwing
 * (it does not, it maps every error to a result) would become SPF_TEMPFAIL (defer).
 */
import type { DNSResolver } from 'mailauth';
import { mailauth } from '../../scan/auth/mailauth.js';
import { methodResult } from '../../pipeline/auth-results.js';
import type { Check, Finding, SpfResult, SymbolDef } from '../../pipeline/types.js';
import { nodeStyleResolve } from '../../platform/dns/node-style.js';
import { parseDomain, type ReversePath } from '../../smtp/address.js';
import { spfRejected } from '../../smtp/reply.js';
import type { Resolver } from '../../platform/dns/types.js';
import type { SpfConfig } from './config.js';
export { spfSchema, type SpfConfig } from './config.js';

/** What the check needs of CheckPorts: the resolver, and our name for mailauth's comments. */
export interface SpfPorts {
  readonly resolver: Resolver;
  readonly hostname: string;
}

const RESULTS: readonly SpfResult[] = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'];

/** The domain a finding's detail starts with ("example.org: ..."), if it is a valid name. */
export function detailDomain(detail: string): string | undefined {
  const d = parseDomain(/^([^\s:]+):/.exec(detail)?.[1] ?? '');
  return d !== null && !d.startsWith('[') ? d : undefined;
}

export const SPF_SYMBOLS: readonly SymbolDef[] = [
  { name: 'SPF_PASS', description: 'SPF pass: the domain authorizes the client (anyone can publish SPF, so no bonus)', score: 0 },
  {
    name: 'SPF_FAIL',
    description: 'SPF fail ("-all"): the domain does not authorize the client; set action reject for 550 5.7.23',
    score: 1.5,
    reply: (action, f) => (action === 'reject' ? spfRejected(detailDomain(f.detail)) : null),
  },
  { name: 'SPF_SOFTFAIL', description: 'SPF softfail ("~all"): the domain probably does not authorize the client', score: 0.7 },
  { name: 'SPF_NEUTRAL', description: 'SPF neutral ("?all"): the domain makes no assertion about the client', score: 0 },
  { name: 'SPF_NONE', description: 'No SPF record for the domain (or no domain to check)', score: 0.3 },
  { name: 'SPF_PERMERROR', description: 'The SPF record is broken (syntax, several records, over 10 DNS lookups)', score: 0.5 },
  { name: 'SPF_TEMPERROR', description: 'SPF could not be evaluated (DNS failure); transient, never rejects', score: 0 },
];

const SYMBOL: Readonly<Record<SpfResult, string>> = {
  pass: 'SPF_PASS',
  fail: 'SPF_FAIL',
  softfail: 'SPF_SOFTFAIL',
  neutral: 'SPF_NEUTRAL',
  none: 'SPF_NONE',
  permerror: 'SPF_PERMERROR',
  temperror: 'SPF_TEMPERROR',
};

/** mailauth's result as ours; anything unexpected is a temperror (fail safe: it can only defer). */
function asResult(r: string): SpfResult {
  return (RESULTS as readonly string[]).includes(r) ? (r as SpfResult) : 'temperror';
}

/** The identity to check: MAIL FROM's domain, or the HELO name for "<>" (RFC 7208 §2.3, §2.4). */
function identity(from: ReversePath, helo: string): { kind: 'mailfrom' | 'helo'; domain: string; checkable: boolean } {
  if (from) return { kind: 'mailfrom', domain: from.domain, checkable: !from.literal };
  const d = parseDomain(helo);
  // §4.3: a HELO that is not a multi-label domain name (an address literal, "localhost") is "none".
  return d !== null && !d.startsWith('[') && d.includes('.') ? { kind: 'helo', domain: d, checkable: true } : { kind: 'helo', domain: helo, checkable: false };
}

export function spfCheck(_config: SpfConfig, ports: SpfPorts): Check {
  return {
    name: 'spf',
    symbols: SPF_SYMBOLS,
    open: (session) => ({
      mailFrom: async (from, _params, ctx, signal): Promise<Finding[]> => {
        const helo = ctx.facts.helo ?? '';
        const id = identity(from, helo);
        let result: SpfResult = 'none';
        let why = 'no domain name to check (RFC 7208 §4.3)';
        if (id.checkable) {
          const { spf } = await mailauth();
          const r = await spf({
            ...(from ? { sender: `${from.local}@${from.domain}` } : {}),
            ip: session.clientIp,
            helo,
            mta: ports.hostname,
            resolver: nodeStyleResolve(ports.resolver, signal) as DNSResolver,
          });
          result = asResult(r.status.result);
          why = (r.status.comment ?? result).replace(`${ports.hostname}: `, '');
        }
        ctx.tx.spf = { result, domain: id.domain };
        ctx.tx.authResults.push(methodResult('spf', result, [[`smtp.${id.kind}`, id.domain]]));
        return [{ symbol: SYMBOL[result], detail: `${id.domain}: ${why}`, ...(result === 'temperror' ? { transient: true } : {}) }];
      },
    }),
  };
}
