/**
 * The one error type of the outbound SMTP client (CONVENTIONS.md 5). Every failure the relay can see
 * carries a stable `code`, a `transient` flag (retry later vs. give up) and the downstream reply that
 * caused it, if any. Messages are for logs only; the relay decides from `code` and `transient`.
 */
import type { SmtpReply } from '../reply.js';

export type SmtpClientErrorCode =
  /** TCP connect failed or was refused. */
  | 'CONNECT_FAILED'
  /** A connect, read, write or TLS handshake took longer than its timeout (RFC 5321 §4.5.3.2). */
  | 'TIMEOUT'
  /** The caller's AbortSignal fired; the connection was destroyed. */
  | 'ABORTED'
  /** The peer closed the connection or the socket failed. */
  | 'CLOSED'
  /** The peer broke the protocol: malformed or over-long reply, unexpected reply, TLS injection. */
  | 'PROTOCOL'
  /** The peer sent 421 (RFC 5321 §3.8): it is closing the channel. */
  | 'SERVICE_UNAVAILABLE'
  /** Greeting, EHLO/HELO or RSET refused; `reply` tells why. */
  | 'REJECTED'
  /** TLS policy is 'required' but the peer does not offer STARTTLS or refused it. */
  | 'TLS_REQUIRED'
  /** The TLS handshake failed (certificate, protocol); see `retryWithoutTls`. */
  | 'TLS_FAILED'
  /** The message body could not be read (spool I/O); the connection was dropped mid-DATA. */
  | 'BODY_READ_FAILED'
  /** An operation on a connection that is no longer usable (after an error, 421, QUIT or close). */
  | 'UNUSABLE'
  /** Two operations at once on one connection: a caller bug. */
  | 'BUSY'
  /** The caller passed something that must not reach the wire (CR/LF in an address, bad options). */
  | 'INVALID_ARGUMENT';

export interface SmtpClientErrorInit {
  readonly transient: boolean;
  readonly reply?: SmtpReply | null;
  readonly retryWithoutTls?: boolean;
  readonly cause?: unknown;
}

export class SmtpClientError extends Error {
  override readonly name = 'SmtpClientError';
  readonly code: SmtpClientErrorCode;
  readonly transient: boolean;
  /** The last downstream reply that led to this error, if one did. */
  readonly reply: SmtpReply | null;
  /**
   * True only for an opportunistic STARTTLS whose handshake failed: this connection is dead (the
   * plaintext channel cannot be resumed after a failed handshake, RFC 3207 §4.1), but the caller may
   * open a new connection with tls: 'none' if its policy allows delivery in plaintext.
   */
  readonly retryWithoutTls: boolean;

  constructor(code: SmtpClientErrorCode, message: string, init: SmtpClientErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.transient = init.transient;
    this.reply = init.reply ?? null;
    this.retryWithoutTls = init.retryWithoutTls ?? false;
  }
}

export function isSmtpClientError(e: unknown): e is SmtpClientError {
  return e instanceof SmtpClientError;
}
