/**
 * Reverse DNS of the client at connect: its PTR names, and whether one of them resolves back to
 * the client address (forward-confirmed reverse DNS, FCrDNS; RFC 1912 §2.1 asks every host for a
 * matching PTR and A). At most `maxNames` PTR names are followed. Findings: RDNS_NONE (no PTR:
 * NXDOMAIN or NODATA), RDNS_NOT_CONFIRMED (no name leads back), RDNS_DYNAMIC (the confirmed name
 * looks like a pool address, dynamic.ts). Modest scores and no hard action by default (an operator
 * may set `action: reject` for RDNS_NONE in `policy.symbols`). Writes the `rdns` session fact.
 * Trusts: the resolver. Fails: never throws; a PTR or forward lookup that failed (timeout,
 * SERVFAIL) without any name confirming is RDNS_ERROR, score 0 and transient, never a reject.
 */
import type { Resolver } from '../../platform/dns/index.js';
import { normalizeName } from '../../platform/dns/names.js';
import { connectionRefused } from '../../smtp/reply.js';
import type { Check, Finding, PhaseContext, SessionInfo, SymbolDef } from '../../pipeline/types.js';
import { plainIp, sameIp } from '../client-ip.js';
import type { RdnsConfig } from './config.js';
import { dynamicMatcher } from './dynamic.js';

export interface RdnsPorts {
  readonly resolver: Resolver;
}

const noName: NonNullable<SymbolDef['reply']> = (action) => (action === 'reject' ? connectionRefused('Client host rejected: cannot find your hostname') : null);
const unconfirmed: NonNullable<SymbolDef['reply']> = (action) => (action === 'reject' ? connectionRefused('Client host rejected: your hostname does not resolve to your address') : null);

const SYMBOLS: readonly SymbolDef[] = [
  { name: 'RDNS_NONE', description: 'The client address has no PTR record', score: 1.5, reply: noName },
  { name: 'RDNS_NOT_CONFIRMED', description: 'No PTR name of the client resolves back to its address (FCrDNS)', score: 1, reply: unconfirmed },
  { name: 'RDNS_DYNAMIC', description: 'The client name looks like a dynamic or generic pool address', score: 1 },
  { name: 'RDNS_ERROR', description: 'Reverse DNS could not be checked (DNS timeout or failure)', score: 0 },
];

export function rdns(config: RdnsConfig, ports: RdnsPorts): Check {
  const dynamic = dynamicMatcher(config.dynamic.patterns, config.dynamic.addressInName);

  async function connect(session: SessionInfo, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]> {
    const ip = plainIp(session.clientIp);
    if (ip === null) return [];
    const ptr = await ports.resolver.reverse(ip, signal);
    if (ptr.kind === 'none') {
      ctx.facts.rdns = { name: null, confirmed: false };
      return [{ symbol: 'RDNS_NONE', detail: `no PTR for ${ip} (${ptr.reason})` }];
    }
    if (ptr.kind === 'error') return [{ symbol: 'RDNS_ERROR', detail: `PTR of ${ip}: ${ptr.code}`, transient: true }];
    const names = [...new Set(ptr.records.map((r) => normalizeName(r)).filter((n): n is string => n !== null))].slice(0, config.maxNames);
    const first = names[0];
    if (first === undefined) {
      ctx.facts.rdns = { name: null, confirmed: false };
      return [{ symbol: 'RDNS_NOT_CONFIRMED', detail: `PTR of ${ip} is not a host name` }];
    }
    const type = ip.includes(':') ? 'AAAA' : 'A';
    const forward = await Promise.all(names.map((n) => ports.resolver.lookup(n, type, signal)));
    const at = forward.findIndex((a) => a.kind === 'ok' && a.records.some((r) => sameIp(r, ip)));
    const confirmed = names[at];
    if (confirmed !== undefined) {
      ctx.facts.rdns = { name: confirmed, confirmed: true };
      const why = dynamic.match(confirmed, ip);
      return why === null ? [] : [{ symbol: 'RDNS_DYNAMIC', detail: `${confirmed}: ${why}` }];
    }
    ctx.facts.rdns = { name: first, confirmed: false };
    const failed = forward.map((a, i) => (a.kind === 'error' ? `${names[i] ?? ''} ${type}: ${a.code}` : null)).filter((x): x is string => x !== null);
    if (failed.length > 0) return [{ symbol: 'RDNS_ERROR', detail: `${ip} PTR ${names.join(', ')}; ${failed.join('; ')}`, transient: true }];
    return [{ symbol: 'RDNS_NOT_CONFIRMED', detail: `${ip} PTR ${names.join(', ')}: none resolves back (${type})` }];
  }

  return {
    name: 'rdns',
    symbols: SYMBOLS,
    open: (session) => ({ connect: (ctx, signal) => connect(session, ctx, signal) }),
  };
}
