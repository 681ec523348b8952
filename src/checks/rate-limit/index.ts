/**
 * Mail volume limits, each `{ count, per }` and each off unless configured: messages per client
 * network and per envelope sender (counted and refused at MAIL), recipients per client network and
 * per sender, and messages per recipient (counted and refused at RCPT). Over a limit → 450 4.7.1 in
 * that phase; the session stays open (a connection flood is the listener's business: 421).
 *
 * The rate is a sliding-window estimate over two fixed windows of length `per`: with c the count
 * of the current window and p the previous one's, the rate now is p × (1 − elapsed/per) + c.
 * Counters live in the StateStore (keys "ratelimit:…"), so both workers of a node (one SQLite file)
 * and a cluster (Redis) count together. A command is counted when it is let through: the counter is
 * incremented first (atomic across workers) and given back when the new total is over the limit,
 * so a client that keeps retrying while over its limit does not push its own window further out.
 * What counts is what got past the earlier checks of the phase (put this check after the recipient
 * checks and greylisting in the list); MAIL commands count whether or not the message completes
 * (as Postfix's anvil counts them). The null sender has no per-sender or per-sender-recipient limit
 * (it would lump every bounce on the internet into one counter); per-client limits still apply.
 * Clients in `internalNetworks` are not limited.
 *
 * Fails: a store error throws → RATE_LIMIT_TEMPFAIL (451) unless failOpen, per CONVENTIONS.md 6.
 * With no limit configured the check does no I/O at all.
 */
import type { Check, Finding, SessionFacts, SymbolDef } from '../../pipeline/types.js';
import type { Mailbox } from '../../smtp/address.js';
import { rateLimited } from '../../smtp/reply.js';
import type { Clock } from '../../platform/clock.js';
import type { StateStore } from '../../store/state.js';
import { clientNetwork, NetworkList } from '../match/networks.js';
import type { RateLimitConfig } from './config.js';
export { rateLimitSchema, type RateLimitConfig } from './config.js';

type Limit = NonNullable<RateLimitConfig['messagesPerClient']>;

const reply = (what: 'client' | 'sender' | 'recipient'): NonNullable<SymbolDef['reply']> => (action) => (action === 'defer' ? rateLimited(what) : null);

export const RATE_LIMIT_SYMBOLS: readonly SymbolDef[] = [
  { name: 'RATE_LIMIT_CLIENT_MESSAGES', description: 'Client network over its message rate', score: 0, action: 'defer', reply: reply('client') },
  { name: 'RATE_LIMIT_CLIENT_RECIPIENTS', description: 'Client network over its recipient rate', score: 0, action: 'defer', reply: reply('client') },
  { name: 'RATE_LIMIT_SENDER_MESSAGES', description: 'Envelope sender over its message rate', score: 0, action: 'defer', reply: reply('sender') },
  { name: 'RATE_LIMIT_SENDER_RECIPIENTS', description: 'Envelope sender over its recipient rate', score: 0, action: 'defer', reply: reply('sender') },
  { name: 'RATE_LIMIT_RECIPIENT_MESSAGES', description: 'Recipient over its message rate', score: 0, action: 'defer', reply: reply('recipient') },
];

export interface RateLimitPorts {
  readonly state: StateStore;
  readonly clock: Clock;
}

/**
 * Counts one event against a limit and says whether it is let through; `give()` takes the count
 * back. `name` and the window length are part of the key, so a changed config starts fresh
 * counters instead of misreading old ones. Exported for tests.
 */
export async function take(state: StateStore, now: number, name: string, subject: string, l: Limit): Promise<{ ok: boolean; rate: number; give(): Promise<void> }> {
  const window = Math.floor(now / l.per);
  const base = `ratelimit:${name}:${l.per}:${subject}:`;
  const key = `${base}${window}`;
  // The current window's counter lives through the next window, where it is the previous one.
  const current = await state.increment(key, 1, 2 * l.per);
  const previous = Number((await state.get(`${base}${window - 1}`)) ?? 0);
  const elapsed = (now - window * l.per) / l.per;
  const rate = previous * (1 - elapsed) + current;
  const give = async (): Promise<void> => {
    await state.increment(key, -1, 2 * l.per);
  };
  if (rate <= l.count) return { ok: true, rate, give };
  await give();
  return { ok: false, rate, give: async () => undefined };
}

function addressKey(m: Mailbox): string {
  return `${m.local.toLowerCase()}@${m.domain}`;
}

interface Rule {
  readonly name: string;
  readonly symbol: string;
  readonly subject: string;
  readonly limit: Limit | undefined;
}

/**
 * Takes every configured rule in order; the first one over its limit is the finding, and the
 * counts already taken for this command are given back (the command is refused, it did not count).
 */
async function takeAll(state: StateStore, now: number, rules: readonly Rule[]): Promise<Finding[]> {
  const taken: (() => Promise<void>)[] = [];
  for (const r of rules) {
    if (!r.limit) continue;
    const t = await take(state, now, r.name, r.subject, r.limit);
    if (t.ok) {
      taken.push(t.give);
      continue;
    }
    for (const give of taken) await give();
    return [{ symbol: r.symbol, detail: `${r.subject}: ${t.rate.toFixed(1)} > ${r.limit.count} per ${r.limit.per / 1000} s` }];
  }
  return [];
}

/**
 * Which sessions one instance of the check limits. Inbound mail (the default) and outbound mail
 * (src/outbound: the LAN server and SMTP AUTH submitters) have instances of their own, with their
 * own limits, counters and symbols; outbound counts an authenticated account as the "client".
 */
export interface RateLimitVariant {
  readonly name: string;
  /** Symbol prefix replacing "RATE_LIMIT_"; also keeps the state keys apart. */
  readonly prefix: string;
  readonly applies: (facts: SessionFacts) => boolean;
  /** The per-client subject instead of the client network (e.g. the AUTH account); null: the network. */
  readonly client?: (facts: SessionFacts) => string | null;
}

export const INBOUND_RATE_LIMIT: RateLimitVariant = { name: 'rate-limit', prefix: 'RATE_LIMIT_', applies: (f) => !f.outbound };
export const OUTBOUND_RATE_LIMIT: RateLimitVariant = {
  name: 'outbound-rate-limit',
  prefix: 'OUTBOUND_RATE_LIMIT_',
  applies: (f) => f.outbound !== undefined,
  client: (f) => (f.outbound?.account ? `account:${f.outbound.account}` : null),
};

export function rateLimit(config: RateLimitConfig, ports: RateLimitPorts, variant: RateLimitVariant = INBOUND_RATE_LIMIT): Check {
  const internal = new NetworkList(config.internalNetworks);
  const { state, clock } = ports;
  const c = config;
  const sym = (name: string): string => `${variant.prefix}${name.slice('RATE_LIMIT_'.length)}`;
  const keyPrefix = variant === INBOUND_RATE_LIMIT ? '' : `${variant.prefix.toLowerCase()}`;
  return {
    name: variant.name,
    symbols: variant === INBOUND_RATE_LIMIT ? RATE_LIMIT_SYMBOLS : RATE_LIMIT_SYMBOLS.map((s) => ({ ...s, name: sym(s.name), description: `Outbound: ${s.description.replace(/^C/, 'c').replace(/^E/, 'e').replace(/^R/, 'r')}` })),
    open(session) {
      const exempt = internal.contains(session.clientIp);
      const network = clientNetwork(session.clientIp, c.clientNetwork);
      let net = network;
      const skip = (facts: SessionFacts): boolean => {
        net = variant.client?.(facts) ?? network;
        return exempt || !variant.applies(facts);
      };
      const all = (rules: readonly Rule[]): Promise<Finding[]> =>
        takeAll(state, clock.now(), rules.map((r) => ({ ...r, name: `${keyPrefix}${r.name}`, symbol: sym(r.symbol) })));
      return {
        mailFrom: async (from, _params, ctx): Promise<Finding[]> => {
          if (skip(ctx.facts)) return [];
          const sender = from === null ? null : addressKey(from);
          return all([
            { name: 'mc', symbol: 'RATE_LIMIT_CLIENT_MESSAGES', subject: net, limit: c.messagesPerClient },
            { name: 'ms', symbol: 'RATE_LIMIT_SENDER_MESSAGES', subject: sender ?? '', limit: sender === null ? undefined : c.messagesPerSender },
          ]);
        },
        rcptTo: async (to, ctx): Promise<Finding[]> => {
          if (skip(ctx.facts)) return [];
          const sender = ctx.from === null ? null : addressKey(ctx.from);
          return all([
            { name: 'rc', symbol: 'RATE_LIMIT_CLIENT_RECIPIENTS', subject: net, limit: c.recipientsPerClient },
            { name: 'rs', symbol: 'RATE_LIMIT_SENDER_RECIPIENTS', subject: sender ?? '', limit: sender === null ? undefined : c.recipientsPerSender },
            { name: 'mr', symbol: 'RATE_LIMIT_RECIPIENT_MESSAGES', subject: addressKey(to), limit: c.messagesPerRecipient },
          ]);
        },
      };
    },
  };
}
