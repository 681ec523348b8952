/**
 * The no-open-relay guarantee. A recipient is accepted only when its domain is one of ours, written as
 * a domain name (no address literal) and its local part carries no route of its own (percent hack,
 * bang path, quoted "@"), which a downstream might still honour. Upper case and IDN forms are
 * canonicalised by the address parser before this check sees them. Not configurable: its symbols are
 * locked hard rejects with "554 5.7.1 Relay access denied". The one exception: a session the inbound
 * handler marked as outbound (the `outbound` fact: a client in outbound.trustedNetworks, or one that
 * passed SMTP AUTH) may name any domain; everyone else still gets 554 5.7.1.
 */
import { hasRoutingLocalPart, type Mailbox } from '../../smtp/address.js';
import { relayDenied } from '../../smtp/reply.js';
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';

const denied = (): ReturnType<typeof relayDenied> => relayDenied();
const SYMBOLS: readonly SymbolDef[] = [
  { name: 'RCPT_ADDRESS_LITERAL', description: 'Recipient is an address literal (user@[ip])', score: 0, action: 'reject', locked: true, reply: denied },
  { name: 'RCPT_NOT_LOCAL', description: 'Recipient domain is not one of ours (relaying)', score: 0, action: 'reject', locked: true, reply: denied },
  { name: 'RCPT_ROUTED_LOCAL_PART', description: 'Recipient local part routes elsewhere (%, !, quoted @)', score: 0, action: 'reject', locked: true, reply: denied },
];

export function relayGuard(): Check {
  return {
    name: 'relay-guard',
    symbols: SYMBOLS,
    open: () => ({
      rcptTo: async (to: Mailbox, ctx): Promise<Finding[]> => {
        if (to.literal) return [{ symbol: 'RCPT_ADDRESS_LITERAL', detail: to.domain }];
        if (!ctx.isLocal(to.domain) && !ctx.facts.outbound) return [{ symbol: 'RCPT_NOT_LOCAL', detail: to.domain }];
        if (hasRoutingLocalPart(to)) return [{ symbol: 'RCPT_ROUTED_LOCAL_PART', detail: to.local }];
        return [];
      },
    }),
  };
}
