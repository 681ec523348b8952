/**
 * Greylisting (RFC 6647) on the triplet (client network, envelope sender, recipient), decided at
 * RCPT for each recipient. The first sight of a triplet is deferred with 451 4.7.1; a retry after
 * `delay` and within `retryWindow` of the first sight passes, and the triplet is then known for
 * `lifetime`, refreshed by its passes (written at most once a day, or per lifetime/10). A client
 * network that passed `autoAllowAfter` distinct triplets skips greylisting for `lifetime`
 * (postgrey's auto-whitelist). Defaults follow postgrey: 5 minutes, 2 days, 35 days, 5.
 *
 * Per recipient, because the triplet holds the recipient: in a transaction to a known and a new
 * recipient the known one is accepted and the new one deferred, and the client's queue retries only
 * that one (RFC 5321 §3.3: each RCPT has its own reply). Every triplet is recorded at its first RCPT,
 * so after one deferred attempt every recipient of the message passes together on the retry.
 *
 * Skipped: outbound sessions (the `outbound` fact), a sender the organization has written to (its
 * `outbound-rcpt:` key, learnt by src/outbound when outbound mail was spooled; MAIL FROM can be
 * forged, but this only spares the delay, every other check still runs), clients or senders with
 * the `allowlisted` fact (sender-lists, DNSWL), clients in
 * `internalNetworks`, and an SPF pass (the `spf` fact) for a domain in `skipSpfPassDomains` (big
 * senders whose retries come from other hosts). The null sender is greylisted like any other:
 * bounces come from MTAs that retry, exempting "<>" would make it a free pass, and postgrey does
 * the same. A side effect worth knowing: another site's sender-address verification callout
 * (MAIL FROM:<>, RCPT, QUIT) gets 451 until its triplet ripens.
 *
 * The sender is normalised before it becomes a key, as postgrey does, so that per-message VERP and
 * BATV senders do not make each message a new triplet: a BATV tag ("prvs=1234abcd=") is dropped and
 * every run of digits becomes "#".
 *
 * State: the StateStore port, keys "greylist:…"; two workers share it, and setIfAbsent makes the
 * first sight and the first pass atomic (a triplet is counted toward auto-allow once).
 * Fails: a store error throws; the check's failOpen (default true here) then accepts without
 * greylisting and the runner logs `check.fail-open` each time. Why open, against CONVENTIONS.md 6:
 * greylisting's only effect is a delay, and a store that cannot remember would defer every message
 * forever (known triplets included), a self-made outage; failing open only loses the delay, every
 * other check still runs. `failOpen: false` defers instead (GREYLIST_TEMPFAIL).
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { Mailbox, ReversePath } from '../../smtp/address.js';
import { greylisted } from '../../smtp/reply.js';
import type { Clock } from '../../platform/clock.js';
import type { StateStore } from '../../store/state.js';
import { DomainList } from '../match/domains.js';
import { clientNetwork, NetworkList } from '../match/networks.js';
import type { GreylistConfig } from './config.js';
export { greylistSchema, type GreylistConfig } from './config.js';

export const GREYLIST_SYMBOLS: readonly SymbolDef[] = [
  {
    name: 'GREYLIST',
    description: 'New (client network, sender, recipient) triplet: deferred until the client retries after the delay',
    score: 0,
    action: 'defer',
    reply: (action) => (action === 'defer' ? greylisted() : null),
  },
];

/** The sender as the triplet holds it (see the header): "<>" for bounces, VERP/BATV folded. */
export function tripletSender(from: ReversePath): string {
  if (from === null) return '<>';
  const local = from.local.toLowerCase().replace(/^prvs=[0-9a-z]+=/, '').replace(/[0-9]+/g, '#');
  return `${local}@${from.domain}`;
}

function recipientKey(to: Mailbox): string {
  return `${to.local.toLowerCase()}@${to.domain}`;
}

export interface GreylistPorts {
  readonly state: StateStore;
  readonly clock: Clock;
}

export function greylist(config: GreylistConfig, ports: GreylistPorts): Check {
  const internal = new NetworkList(config.internalNetworks);
  const spfDomains = new DomainList(config.skipSpfPassDomains);
  const { state, clock } = ports;
  // A pass refreshes its entry's lifetime, but writes at most once per this interval (a read is
  // cheaper than a write, and the workers share one writer lock).
  const refreshEvery = Math.min(86_400_000, config.lifetime / 10);
  /** Whether a pass/auto-allow entry is live; refreshes it when its last refresh is old. */
  const known = async (key: string, now: number): Promise<boolean> => {
    const since = await state.get(key);
    if (since === null) return false;
    if (!(now - Number(since) < refreshEvery)) await state.set(key, String(now), config.lifetime);
    return true;
  };
  return {
    name: 'greylist',
    symbols: GREYLIST_SYMBOLS,
    open(session) {
      const net = clientNetwork(session.clientIp, config.network);
      const isInternal = internal.contains(session.clientIp);
      const autoKey = `greylist:auto:${net}`;
      return {
        rcptTo: async (to, ctx): Promise<Finding[]> => {
          if (ctx.facts.allowlisted || ctx.tx.allowlisted || isInternal || ctx.facts.outbound) return [];
          const spf = ctx.tx.spf;
          if (spf?.result === 'pass' && spfDomains.matches(spf.domain.toLowerCase())) return [];
          const now = clock.now();
          if (config.autoAllowAfter > 0 && (await known(autoKey, now))) return [];
          if (ctx.from && (await state.get(`outbound-rcpt:${recipientKey(ctx.from)}`)) !== null) return [];
          const triplet = JSON.stringify([net, tripletSender(ctx.from), recipientKey(to)]);
          const passedKey = `greylist:pass:${triplet}`;
          if (await known(passedKey, now)) return [];
          const pendingKey = `greylist:seen:${triplet}`;
          if (await state.setIfAbsent(pendingKey, String(now), config.retryWindow)) {
            return [{ symbol: 'GREYLIST', detail: `first sight of ${triplet}` }];
          }
          const first = Number((await state.get(pendingKey)) ?? now);
          const waited = now - first;
          if (waited < config.delay) {
            return [{ symbol: 'GREYLIST', detail: `retry after ${Math.round(waited / 1000)} s, before the ${Math.round(config.delay / 1000)} s delay: ${triplet}` }];
          }
          // Ripe. Only the attempt that records the pass counts it toward auto-allow (two workers may race).
          if (await state.setIfAbsent(passedKey, String(now), config.lifetime)) {
            await state.delete(pendingKey);
            if (config.autoAllowAfter > 0) {
              const passes = await state.increment(`greylist:passes:${net}`, 1, config.lifetime);
              if (passes >= config.autoAllowAfter) await state.set(autoKey, String(now), config.lifetime);
            }
          }
          return [];
        },
      };
    },
  };
}
