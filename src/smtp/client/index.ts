/**
 * Moat's outbound SMTP client: the relay delivers queued mail to the LAN server through it. It speaks
 * RFC 5321 with PIPELINING (2920), SIZE (1870), 8BITMIME (6152), SMTPUTF8 (6531), DSN (3461),
 * ENHANCEDSTATUSCODES (2034) and STARTTLS (3207), and nothing else: no AUTH, no vendor verbs.
 * It trusts the relay for addresses and for a CRLF-clean body; it trusts the server for nothing.
 * Replies come back as typed `SmtpReply` values, per recipient; connection-level failures are one
 * `SmtpClientError` type with a stable `code` and a `transient` flag.
 */
export { connect } from './connect.js';
export { SmtpConnection, recipientOutcomes, type SendResult, type SessionInfo } from './connection.js';
export type { Capabilities } from './capabilities.js';
export type { Envelope, Recipient, PreconditionFailure, PreconditionReason } from './envelope.js';
export type { ProbeResult, TransactionResult } from './transaction.js';
export { SmtpClientError, isSmtpClientError, type SmtpClientErrorCode } from './errors.js';
export { DEFAULT_TIMEOUTS, type ConnectOptions, type Timeouts, type TlsOptions, type TlsPolicy } from './options.js';
export { describeTlsa, isUsableTlsa, matchDane, usableTlsa, type DaneExpectation, type DaneMatch, type TlsaAssociation } from './tlsa.js';
export { DEFAULT_REPLY_LIMITS, type ReplyLimits } from './reply-reader.js';
