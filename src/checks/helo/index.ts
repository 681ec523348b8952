/**
 * The HELO/EHLO name (RFC 5321 §4.1.1.1, §4.1.4), checked at HELO/EHLO: HELO_INVALID (neither a
 * domain nor an address literal), HELO_OURS (our hostname, one of our domains, or the address of
 * the listener the client reached: a forgery), HELO_BARE_IP (an address without brackets),
 * HELO_NOT_FQDN (a single label), HELO_LITERAL_MISMATCH (an address literal that is not the
 * client's), HELO_NO_DNS (no A, AAAA or MX: NXDOMAIN or NODATA for all three).
 * HELO_OURS is a hard reject by default (550 5.7.1). RFC 5321 §4.1.4 forbids refusing mail because
 * the name fails to match the client's address, so the mismatch findings only add score; a client
 * that calls itself by our own name is not a failed verification but an impersonation, which
 * Postfix sites reject as a rule. A connection from the listener's own address (a local probe) and
 * an allowlisted client (sender-lists, DNSWL) are exempt from HELO_OURS. Subdomains of our
 * domains are not "ours" (a hard reject stays exact).
 * The runner has already set the `helo` fact; a new HELO replaces these findings.
 * Trusts: the resolver, the operator's hostname and domains. Fails: never throws; a DNS failure of
 * the name is HELO_DNS_ERROR, score 0 and transient, never a reject.
 */
import type { Resolver } from '../../platform/dns/index.js';
import { policyRejected } from '../../smtp/reply.js';
import type { Check, Finding, PhaseContext, SessionInfo, SymbolDef } from '../../pipeline/types.js';
import { plainIp, sameIp } from '../client-ip.js';
import type { HeloConfig } from './config.js';
import { classifyHelo } from './helo-name.js';

export interface HeloPorts {
  readonly resolver: Resolver;
  /** Our own name (banner, EHLO). */
  readonly hostname: string;
}

/** "550 5.7.1 Helo command rejected: ..." when the operator (or the default) rejects on the symbol. */
const rejectWith =
  (text: string): NonNullable<SymbolDef['reply']> =>
  (action) =>
    action === 'reject' ? policyRejected(`Helo command rejected: ${text}`) : null;

const SYMBOLS: readonly SymbolDef[] = [
  { name: 'HELO_OURS', description: 'The HELO name is our own hostname, one of our domains or our address', score: 0, action: 'reject', reply: rejectWith('that name is ours, not yours') },
  { name: 'HELO_INVALID', description: 'The HELO name is neither a domain nor an address literal', score: 1.5, reply: rejectWith('invalid name') },
  { name: 'HELO_BARE_IP', description: 'The HELO name is an IP address without brackets', score: 1.5, reply: rejectWith('an address must be written as a literal, e.g. [192.0.2.1]') },
  { name: 'HELO_NOT_FQDN', description: 'The HELO name is not fully qualified (no dot)', score: 1, reply: rejectWith('need a fully-qualified hostname') },
  { name: 'HELO_LITERAL_MISMATCH', description: 'The HELO address literal is not the client address', score: 1, reply: rejectWith('address literal does not match your address') },
  { name: 'HELO_NO_DNS', description: 'The HELO name has no A, AAAA or MX record', score: 1, reply: rejectWith('host not found') },
  { name: 'HELO_DNS_ERROR', description: 'The HELO name could not be looked up (DNS timeout or failure)', score: 0 },
];

export function helo(config: HeloConfig, ports: HeloPorts): Check {
  const hostname = ports.hostname.toLowerCase();

  async function check(name: string, session: SessionInfo, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]> {
    const h = classifyHelo(name);
    const local = plainIp(session.localIp);
    // The listener's own address talking to itself may well call itself by our name, and so may a
    // client the operator (or a DNSWL) allowlisted: an internal host that says HELO with our domain.
    const fromUs = (local !== null && sameIp(session.clientIp, local)) || ctx.facts.allowlisted !== undefined;
    const ours = (detail: string): Finding[] => [{ symbol: 'HELO_OURS', detail }];
    switch (h.kind) {
      case 'invalid':
        return [{ symbol: 'HELO_INVALID', detail: name.slice(0, 255) }];
      case 'bare-ip':
        if (!fromUs && local !== null && sameIp(h.ip, local)) return ours(`${name}: the address of our listener`);
        return [{ symbol: 'HELO_BARE_IP', detail: name }];
      case 'literal':
        if (!fromUs && local !== null && sameIp(h.ip, local)) return ours(`${name}: the address of our listener`);
        return sameIp(h.ip, session.clientIp) ? [] : [{ symbol: 'HELO_LITERAL_MISMATCH', detail: `${name} from ${session.clientIp}` }];
      case 'domain':
        break;
    }
    const d = h.domain;
    if (!fromUs && (d === hostname || ctx.isLocal(d))) return ours(`${name}: ${d === hostname ? 'our hostname' : 'one of our domains'}`);
    if (!h.fqdn) return [{ symbol: 'HELO_NOT_FQDN', detail: name }];
    if (!config.dns) return [];
    const answers = await Promise.all([ports.resolver.lookup(d, 'A', signal), ports.resolver.lookup(d, 'AAAA', signal), ports.resolver.lookup(d, 'MX', signal)]);
    if (answers.some((a) => a.kind === 'ok')) return [];
    const failed = answers.find((a) => a.kind === 'error');
    if (failed?.kind === 'error') return [{ symbol: 'HELO_DNS_ERROR', detail: `${d}: ${failed.code}`, transient: true }];
    const reasons = answers.map((a) => (a.kind === 'none' ? a.reason : '')).join('/');
    return [{ symbol: 'HELO_NO_DNS', detail: `${d}: no A, AAAA or MX (${reasons})` }];
  }

  return {
    name: 'helo',
    symbols: SYMBOLS,
    open: (session) => ({ helo: (name, ctx, signal) => check(name, session, ctx, signal) }),
  };
}
