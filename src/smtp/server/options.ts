/**
 * What the server engine needs to know, and the EHLO keywords that follow from it. Moat advertises
 * exactly these extensions and implements each; nothing a downstream offers is ever passed through.
 */
import type { SecureContext } from 'node:tls';
import type { AuthMechanism } from './sasl.js';

export interface ServerLimits {
  readonly maxMessageSize: number;
  readonly maxHeaderSize: number;
  readonly maxRecipients: number;
  /** Error replies (4xx/5xx) to commands since the last accepted message, before 421 and disconnect. */
  readonly maxErrors: number;
  /** Tarpit: the reply after the n-th error waits min(maxDelayMs, delayMs × (n − afterErrors)). */
  readonly tarpit: { readonly afterErrors: number; readonly delayMs: number; readonly maxDelayMs: number };
  /** Commands per window per session, more and the session ends with 421; null: no limit. */
  readonly commandRate: { readonly count: number; readonly perMs: number } | null;
  /** Deadline for one command line to arrive complete (not reset by trickled octets). */
  readonly commandTimeoutMs: number;
  /** Deadline for the first octet of the next command (≤ commandTimeoutMs; both run from the same start). */
  readonly idleTimeoutMs: number;
  /** Deadline for the whole DATA content / one BDAT chunk. */
  readonly dataTimeoutMs: number;
  /** Deadline for the whole session. */
  readonly sessionTimeoutMs: number;
  /** Unread pipelined input kept in memory before the socket is paused. */
  readonly pipelineBuffer: number;
}

export interface ServerOptions {
  /** Our name in the banner and EHLO. */
  readonly hostname: string;
  readonly limits: ServerLimits;
  /** STARTTLS is offered only with a context (RFC 3207). */
  readonly tls: SecureContext | null;
  /** RFC 8314 §3: TLS from the first octet (submissions on port 465); needs `tls`. */
  readonly implicitTls?: boolean;
  /** RFC 3207 §4: MAIL is refused with 530 5.7.0 until TLS is active (submission on port 587). */
  readonly requireTls?: boolean;
  /**
   * SMTP AUTH (RFC 4954), advertised and accepted only once TLS is active (the mechanisms send the
   * password in clear); null or absent: AUTH is not offered (502 5.5.1).
   */
  readonly auth?: { readonly mechanisms: readonly AuthMechanism[] } | null;
}

/** RFC 5321 §4.5.3.1.4: 512 octets with CRLF; MAIL/RCPT may grow by 500 for DSN (RFC 3461 §5) and 26 for SIZE (RFC 1870). */
export const COMMAND_LINE_LIMIT = 512;
export const ENVELOPE_LINE_LIMIT = 512 + 500 + 26 + 100;
/** RFC 5321 §4.5.3.1.6 text line limit, CRLF included. */
export const TEXT_LINE_LIMIT = 1000;

export function ehloKeywords(o: ServerOptions, tlsActive: boolean): string[] {
  const k = [
    'PIPELINING',
    `SIZE ${o.limits.maxMessageSize}`,
    '8BITMIME',
    'ENHANCEDSTATUSCODES',
    'SMTPUTF8',
    'DSN',
    'CHUNKING',
  ];
  if (o.tls && !tlsActive) k.splice(2, 0, 'STARTTLS');
  if (tlsActive && o.auth && o.auth.mechanisms.length > 0) k.push(`AUTH ${o.auth.mechanisms.join(' ')}`);
  return k;
}
