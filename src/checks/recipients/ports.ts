/**
 * The port through which recipient verification asks a domain's LAN server (adapter:
 * src/relay/verify.ts, wired in src/main.ts). The check classifies the replies; the adapter only
 * opens connections, tries the domain's hosts in order and says what the first one that answered
 * replied, so that this folder imports nothing of the relay.
 */
import type { SmtpReply } from '../../smtp/reply.js';

export type ProbeOutcome =
  /** A server answered MAIL (and RCPT when MAIL was accepted). */
  | { readonly kind: 'answered'; readonly host: string; readonly mail: SmtpReply; readonly rcpt: SmtpReply | null }
  /** No server could be asked: connection refused, timeout, 421, TLS required but refused... */
  | { readonly kind: 'unreachable'; readonly problem: string };

export interface RecipientProber {
  /**
   * Opens a new SMTP connection to the domain's LAN servers (in order; the next one only after a
   * connection-level failure) and sends EHLO, MAIL FROM:<sender>, RCPT TO:<address>, RSET, QUIT —
   * never DATA. Never throws: every failure is an 'unreachable' outcome.
   */
  probe(domain: string, address: string, sender: string, signal: AbortSignal): Promise<ProbeOutcome>;
}
