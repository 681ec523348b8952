/**
 * Allow and deny lists for the envelope sender (MAIL FROM) and the client, and "our own domain
 * used from outside". Lists hold exact addresses, domains (".example.com": its subdomains),
 * glob patterns (glob.ts) and client addresses/CIDRs (IPv4-mapped IPv6 is IPv4). A deny always
 * wins over an allow. A denied client or sender is refused at MAIL with 550 5.7.1 (Postfix's
 * delayed reject: the log then shows the sender too); an allowed one gets a symbol with the hard
 * action `accept` (overrides score-based actions at end of data; other hard rejects still win) and
 * the `allowlisted` fact — for the session when the client matched (set at connect, so that later
 * connect checks can skip), for the transaction when the sender did — so that greylisting skips.
 * The null sender ("<>", RFC 5321 §4.5.5) never matches an address, domain or pattern; the client
 * lists still apply to it.
 * Beside the config lists, the run-time entries admins add from the console or `moat senders`
 * (src/senders) are consulted the same way: a blocked address or domain is SENDER_DENYLISTED, an
 * allowed one SENDER_ALLOWLISTED, the detail naming the entry and who added it. The check reads a
 * snapshot the worker keeps (src/senders/live.ts), so it still does no I/O.
 * Trusts: the address parser's canonical forms (lower-case A-label domains); local parts compare
 * without case, as every MTA's access tables do. Remember that MAIL FROM is forgeable: allowing a
 * sender address lets anyone who writes it skip filtering.
 * Fails: never — it does no I/O. Replies carry fixed texts, never the client's input.
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { Mailbox } from '../../smtp/address.js';
import { parseMailbox } from '../../smtp/address.js';
import { policyRejected } from '../../smtp/reply.js';
import { DomainList } from '../match/domains.js';
import { NetworkList } from '../match/networks.js';
import { RuntimeSenderLists, type SenderEntry } from '../../senders/entries.js';
import { Glob } from './glob.js';
import type { SenderListsConfig } from './config.js';
export { senderListsSchema, type SenderListsConfig } from './config.js';

const clientDenied = (): ReturnType<typeof policyRejected> => policyRejected('Client host rejected: access denied');
const senderDenied = (): ReturnType<typeof policyRejected> => policyRejected('Sender address rejected: access denied');

export const SENDER_LISTS_SYMBOLS: readonly SymbolDef[] = [
  { name: 'CLIENT_DENYLISTED', description: 'Client address is on the deny list', score: 0, action: 'reject', reply: (a) => (a === 'reject' ? clientDenied() : null) },
  { name: 'SENDER_DENYLISTED', description: 'Envelope sender is on the deny list', score: 0, action: 'reject', reply: (a) => (a === 'reject' ? senderDenied() : null) },
  { name: 'CLIENT_ALLOWLISTED', description: 'Client address is on the allow list', score: 0, action: 'accept' },
  { name: 'SENDER_ALLOWLISTED', description: 'Envelope sender is on the allow list', score: 0, action: 'accept' },
  { name: 'SENDER_OWN_DOMAIN_OUTSIDE', description: 'Envelope sender in one of our domains, from a client outside internalNetworks', score: 2 },
];

type ListConfig = SenderListsConfig['allow'];

/** One list compiled for matching. */
class SenderList {
  private readonly addresses: ReadonlySet<string>;
  private readonly domains: DomainList;
  private readonly patterns: readonly Glob[];
  readonly clients: NetworkList;

  constructor(c: ListConfig) {
    this.addresses = new Set(
      c.addresses.map((a) => {
        const m = parseMailbox(a);
        if (!m.ok) throw new Error(`not an address: ${a}`);
        return key(m.value);
      }),
    );
    this.domains = new DomainList(c.domains);
    this.patterns = c.patterns.map((p) => new Glob(p));
    this.clients = new NetworkList(c.clients);
  }

  /** What matched the sender ("address", "domain x", "pattern p"), or null. */
  sender(from: Mailbox): string | null {
    const k = key(from);
    if (this.addresses.has(k)) return 'address';
    if (this.domains.matches(from.domain)) return `domain ${from.domain}`;
    const p = this.patterns.find((g) => g.matches(k));
    return p ? `pattern ${p.source}` : null;
  }
}

/** The comparison form of an address: local part without case, canonical domain. */
function key(m: Mailbox): string {
  return `${m.local.toLowerCase()}@${m.domain}`;
}

const byEntry = (e: SenderEntry): string => `run-time ${e.list} ${e.value} by ${e.addedBy}`;

/** `runtime`: the run-time entries' current snapshot (read at each MAIL FROM). */
export function senderLists(config: SenderListsConfig, runtime: () => RuntimeSenderLists = () => RuntimeSenderLists.EMPTY): Check {
  const allow = new SenderList(config.allow);
  const deny = new SenderList(config.deny);
  const internal = new NetworkList(config.internalNetworks);
  // Observe mode reports what it would do but must not make other checks skip.
  const setsFacts = !config.observe;
  return {
    name: 'sender-lists',
    symbols: SENDER_LISTS_SYMBOLS,
    open(session) {
      const ip = session.clientIp;
      const denied = deny.clients.contains(ip);
      const allowed = !denied && allow.clients.contains(ip);
      const isInternal = internal.contains(ip);
      return {
        connect: async (ctx): Promise<Finding[]> => {
          if (!allowed) return [];
          if (setsFacts) ctx.facts.allowlisted ??= { by: 'sender-lists', detail: `client ${ip}` };
          return [{ symbol: 'CLIENT_ALLOWLISTED', detail: ip }];
        },
        mailFrom: async (from, _params, ctx): Promise<Finding[]> => {
          if (denied) return [{ symbol: 'CLIENT_DENYLISTED', detail: ip }];
          if (from === null) return [];
          const email = key(from);
          const live = runtime();
          const blocked = live.match('block', from);
          const deniedBy = deny.sender(from) ?? (blocked ? byEntry(blocked) : null);
          if (deniedBy) return [{ symbol: 'SENDER_DENYLISTED', detail: `${email} (${deniedBy})` }];
          const found: Finding[] = [];
          const allowedEntry = live.match('allow', from);
          const allowedBy = allow.sender(from) ?? (allowedEntry ? byEntry(allowedEntry) : null);
          if (allowedBy) {
            if (setsFacts) ctx.tx.allowlisted ??= { by: 'sender-lists', detail: `sender ${email} (${allowedBy})` };
            found.push({ symbol: 'SENDER_ALLOWLISTED', detail: `${email} (${allowedBy})` });
          }
          if (ctx.isLocal(from.domain) && !isInternal) found.push({ symbol: 'SENDER_OWN_DOMAIN_OUTSIDE', detail: `${from.domain} from ${ip}` });
          return found;
        },
      };
    },
  };
}
