/**
 * The outbound port the inbound handler uses (gateway/inbound.ts OutboundPort), built per config
 * and listener in main.ts: trusted LAN networks, the credential store for SMTP AUTH, the content
 * preparation (content.ts) and the learning of correspondents — every recipient an outbound
 * message is spooled for is kept in the state store as `outbound-rcpt:<address>` for
 * `rememberRecipients`, so that greylisting lets mail from them through (checks/greylist).
 * Fails: a state store error while learning is logged (outbound.learn-failed) and ignored: the
 * message is already safe, learning is an optimisation.
 */
import type { OutboundPort } from '../gateway/inbound.js';
import { NetworkList } from '../checks/match/networks.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Mailbox } from '../smtp/address.js';
import type { StateStore } from '../store/state.js';
import type { OutboundConfig } from './config.js';
import type { OutboundContent } from './content.js';
import type { PasswordChecker } from './passwords.js';

/** The state key of a correspondent (the same folding as greylisting's recipient key). */
export function correspondentKey(m: Mailbox): string {
  return `outbound-rcpt:${m.local.toLowerCase()}@${m.domain}`;
}

export interface OutboundPortDeps {
  readonly config: OutboundConfig;
  readonly passwords: PasswordChecker | null;
  readonly content: OutboundContent;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly isLocal: (m: Mailbox) => boolean;
}

export function outboundPort(d: OutboundPortDeps, listener: { readonly submission: boolean; readonly implicitTls: boolean }): OutboundPort {
  const trusted = new NetworkList(d.config.trustedNetworks);
  const ttl = d.config.rememberRecipients;
  return {
    trusted: (ip) => trusted.contains(ip),
    passwords: d.passwords,
    requireAuth: listener.submission,
    submissionListener: listener.submission || listener.implicitTls,
    prepare: (input) => d.content.prepare(input),
    learn(recipients) {
      if (ttl <= 0) return;
      const now = String(d.clock.now());
      for (const m of recipients) {
        if (d.isLocal(m)) continue;
        d.state.set(correspondentKey(m), now, ttl).catch((e: unknown) => d.logger.warn('outbound.learn-failed', { error: e instanceof Error ? e.message : String(e) }));
      }
    },
  };
}
