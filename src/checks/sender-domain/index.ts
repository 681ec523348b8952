/**
 * Sender domain routability at MAIL, as Postfix's reject_unknown_sender_domain: a MAIL FROM domain
 * that cannot receive mail cannot take a bounce either. Unroutable is: NXDOMAIN; no MX and no A/AAAA
 * (RFC 5321 §5.1: without MX records the domain itself is the implicit MX); or only a null MX
 * (RFC 7505 §3: "MX 0 ."). The null sender and address literals are not checked.
 *
 * SENDER_DOMAIN_UNROUTABLE is a score by default; `policy.symbols.SENDER_DOMAIN_UNROUTABLE.action:
 * reject` makes it Postfix's 550 5.1.8. A DNS failure is SENDER_DOMAIN_TEMPERROR, transient with
 * score 0 (never a reject); `action: defer` on it gives Postfix's 450 for that case.
 *
 * Trusts: the resolver's typed answers (NXDOMAIN vs NODATA vs error). Fails: never throws; DNS
 * errors and the phase deadline (the signal) become the transient finding.
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { DnsErrorCode, Resolver } from '../../platform/dns/types.js';
import { senderDomainNotFound } from '../../smtp/reply.js';
import type { SenderDomainConfig } from './config.js';
export { senderDomainSchema, type SenderDomainConfig } from './config.js';

export const SENDER_DOMAIN_SYMBOLS: readonly SymbolDef[] = [
  {
    name: 'SENDER_DOMAIN_UNROUTABLE',
    description: 'MAIL FROM domain does not exist, has no MX/A/AAAA, or has a null MX; action reject gives 550 5.1.8',
    score: 3,
    reply: (action) => (action === 'reject' ? senderDomainNotFound() : null),
  },
  {
    name: 'SENDER_DOMAIN_TEMPERROR',
    description: 'MAIL FROM domain could not be looked up (DNS failure); transient, never rejects; action defer gives a 451',
    score: 0,
  },
];

export function senderDomainCheck(_config: SenderDomainConfig, ports: { readonly resolver: Resolver }): Check {
  const r = ports.resolver;
  const temp = (domain: string, type: string, code: DnsErrorCode): Finding => ({ symbol: 'SENDER_DOMAIN_TEMPERROR', detail: `${domain}: ${type} lookup failed (${code})`, transient: true });
  const unroutable = (domain: string, why: string): Finding => ({ symbol: 'SENDER_DOMAIN_UNROUTABLE', detail: `${domain}: ${why}` });
  return {
    name: 'sender-domain',
    symbols: SENDER_DOMAIN_SYMBOLS,
    open: () => ({
      mailFrom: async (from, _params, _ctx, signal): Promise<Finding[]> => {
        if (!from || from.literal) return [];
        const d = from.domain;
        const mx = await r.lookup(d, 'MX', signal);
        if (mx.kind === 'error') return [temp(d, 'MX', mx.code)];
        if (mx.kind === 'ok') {
          // A null MX beside real ones is a misconfiguration (RFC 7505 §3); the real ones still route.
          return mx.records.some((m) => m.exchange !== '') ? [] : [unroutable(d, 'null MX (RFC 7505)')];
        }
        if (mx.reason === 'nxdomain') return [unroutable(d, 'no such domain (NXDOMAIN)')];
        const [a, aaaa] = await Promise.all([r.lookup(d, 'A', signal), r.lookup(d, 'AAAA', signal)]);
        if (a.kind === 'ok' || aaaa.kind === 'ok') return [];
        if (a.kind === 'error') return [temp(d, 'A', a.code)];
        if (aaaa.kind === 'error') return [temp(d, 'AAAA', aaaa.code)];
        return [unroutable(d, 'no MX, A or AAAA record (RFC 5321 §5.1)')];
      },
    }),
  };
}
