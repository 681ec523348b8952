/**
 * The no-open-relay guarantee. A recipient is accepted only when its domain is one of ours, written as
 * a domain name (no address literal) and its local part carries no route of its own (percent hack,
 * bang path, quoted "@"), which a downstream might still honour. Upper case and IDN forms are
 * canonicalised by the address parser before this check sees them. Not configurable: a hard reject.
 */
import { hasRoutingLocalPart, type Mailbox } from '../../smtp/address.js';
import type { Check, Finding, LocalDomains } from '../../pipeline/types.js';

export function relayGuard(isLocal: LocalDomains): Check {
  return {
    name: 'relay-guard',
    open: () => ({
      rcptTo: async (to: Mailbox): Promise<Finding[]> => {
        if (to.literal) return [{ symbol: 'RCPT_ADDRESS_LITERAL', detail: to.domain, hardAction: 'reject' }];
        if (!isLocal(to.domain)) return [{ symbol: 'RCPT_NOT_LOCAL', detail: to.domain, hardAction: 'reject' }];
        if (hasRoutingLocalPart(to)) return [{ symbol: 'RCPT_ROUTED_LOCAL_PART', detail: to.local, hardAction: 'reject' }];
        return [];
      },
    }),
  };
}
