/**
 * SMTP replies as typed values (CONVENTIONS.md 4). Every reply the server sends comes from a named
 * factory below; each asserts that the basic code and the enhanced status share a class, so a policy
 * reject can never go out as "5.1.1 bad mailbox". The relay client parses downstream replies into the
 * same type, but those are never sent to an internet client.
 */
import { type EnhancedStatus, type KnownDetail, parseStatus, statusClass } from './status.js';

export interface SmtpReply {
  /** Basic reply code, 200..599 (RFC 5321 §4.2). */
  readonly code: number;
  /** Enhanced status (RFC 3463), null for the greeting, EHLO/HELO and downstream replies without one. */
  readonly status: EnhancedStatus | null;
  /** One entry per line of a multi-line reply; never contains CR or LF. */
  readonly lines: readonly string[];
}

export class ReplyClassMismatch extends Error {
  readonly code = 'REPLY_CLASS_MISMATCH';
}

function reply(code: number, detail: KnownDetail | null, ...lines: string[]): SmtpReply {
  const cls = String(code)[0];
  if (code < 200 || code > 599 || !['2', '3', '4', '5'].includes(cls ?? '')) throw new ReplyClassMismatch(`bad code ${code}`);
  // 3xx replies (354) carry no enhanced status; every other class must match its status class.
  const status = detail === null || cls === '3' ? null : (`${cls}.${detail}` as EnhancedStatus);
  if (status && statusClass(status) !== cls) throw new ReplyClassMismatch(`${code} with ${status}`);
  for (const l of lines) if (/[\r\n]/.test(l)) throw new ReplyClassMismatch('reply text contains a line break');
  return Object.freeze({ code, status, lines: Object.freeze(lines.length ? lines : ['']) });
}

/** Text that came from outside (a client name, a queue id) made safe for one reply line. */
function clean(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

export const isPositive = (r: SmtpReply): boolean => r.code < 400;
export const isTransient = (r: SmtpReply): boolean => r.code >= 400 && r.code < 500;
export const isPermanent = (r: SmtpReply): boolean => r.code >= 500;

// --- connection -----------------------------------------------------------------------------------
/** RFC 5321 §4.3.1; names only our host: no software name or version for a client to fingerprint. */
export const greeting = (hostname: string): SmtpReply => reply(220, null, `${hostname} ESMTP`);
export const closing = (hostname: string): SmtpReply => reply(221, '0.0', `${hostname} closing connection`);
export const serviceUnavailable = (hostname: string): SmtpReply =>
  reply(421, '3.2', `${hostname} Service not available, closing transmission channel`);
export const tooManyConnections = (): SmtpReply => reply(421, '7.0', 'Too many connections, try again later');
export const tooManyConnectionsFromIp = (): SmtpReply => reply(421, '7.0', 'Too many connections from your address, try again later');
export const tooManyConnectionsFromNet = (): SmtpReply => reply(421, '7.0', 'Too many connections from your network, try again later');
export const connectionRateExceeded = (): SmtpReply => reply(421, '7.0', 'Too many connection attempts from your address, try again later');
export const commandRateExceeded = (): SmtpReply => reply(421, '7.0', 'Too many commands, closing connection');
/**
 * The client talked before our greeting was complete (pregreet, as Postfix postscreen's test).
 * 554 is the connection-opening refusal (RFC 5321 §3.1, §4.2.3 "No SMTP service here"); X.5.1
 * (RFC 3463 §3.6) is "a mail transaction protocol command was issued which was ... out of
 * sequence", which is exactly what an early command is. It is permanent: a conforming client never
 * does it, and the one that did is a bot that will not improve on a retry. Postfix says 5.5.1 too.
 */
export const pregreetRejected = (): SmtpReply => reply(554, '5.1', 'Protocol error: you talked before my greeting');
export const timedOut = (hostname: string): SmtpReply => reply(421, '4.2', `${hostname} Error: timeout exceeded`);
export const tooManyErrors = (): SmtpReply => reply(421, '7.0', 'Too many errors, closing connection');
export const connectionRefused = (text = 'Service unavailable'): SmtpReply => reply(554, '7.1', text);

// --- greeting and simple commands -------------------------------------------------------------------
export const heloOk = (hostname: string): SmtpReply => reply(250, null, hostname);
export const ehloOk = (hostname: string, keywords: readonly string[]): SmtpReply => reply(250, null, hostname, ...keywords);
export const ok = (): SmtpReply => reply(250, '0.0', 'Ok');
export const resetOk = (): SmtpReply => reply(250, '0.0', 'Ok');
export const senderOk = (): SmtpReply => reply(250, '1.0', 'Ok');
export const recipientOk = (): SmtpReply => reply(250, '1.5', 'Ok');
export const queued = (queueId: string): SmtpReply => reply(250, '0.0', `Ok: queued as ${clean(queueId)}`);
export const chunkReceived = (octets: number): SmtpReply => reply(250, '0.0', `Ok: ${octets} octets received`);
export const startMailInput = (): SmtpReply => reply(354, null, 'End data with <CR><LF>.<CR><LF>');
export const readyForTls = (): SmtpReply => reply(220, '0.0', 'Ready to start TLS');
/** RFC 5321 §3.5.3: 252 when we will not disclose whether a user exists. */
export const cannotVerify = (): SmtpReply =>
  reply(252, '0.0', 'Cannot VRFY user, but will accept message and attempt delivery');
export const help = (): SmtpReply => reply(214, '0.0', 'See RFC 5321; this server accepts mail for its domains only');

// --- temporary failures -----------------------------------------------------------------------------
/** The one conversion of an unknown internal error (CONVENTIONS.md 5): a reference id, never the message. */
export const temporaryFailure = (reference: string): SmtpReply =>
  reply(451, '3.0', `Temporary local problem, try again later (ref ${clean(reference)})`);
export const tryLater = (text = 'Try again later'): SmtpReply => reply(451, '7.1', clean(text));
export const insufficientStorage = (): SmtpReply => reply(452, '3.1', 'Insufficient system storage');
export const tooManyRecipients = (): SmtpReply => reply(452, '5.3', 'Too many recipients');
export const tlsNotAvailable = (): SmtpReply => reply(454, '7.0', 'TLS not available due to temporary reason');

// --- protocol errors --------------------------------------------------------------------------------
export const unrecognized = (): SmtpReply => reply(500, '5.2', 'Error: command not recognized');
export const lineTooLong = (): SmtpReply => reply(500, '5.2', 'Error: line too long');
export const notImplemented = (): SmtpReply => reply(502, '5.1', 'Error: command not implemented');
export const syntaxError = (text = 'Error: syntax error in parameters or arguments'): SmtpReply => reply(501, '5.4', text);
export const badSenderSyntax = (): SmtpReply => reply(501, '1.7', 'Error: bad sender address syntax');
export const badRecipientSyntax = (): SmtpReply => reply(501, '1.3', 'Error: bad recipient address syntax');
export const badSequence = (text = 'Error: bad sequence of commands'): SmtpReply => reply(503, '5.1', text);
export const parameterNotImplemented = (name: string): SmtpReply =>
  reply(555, '5.4', `Error: ${clean(name)} parameter not recognized or not implemented`);
export const bareNewline = (): SmtpReply => reply(521, '5.2', 'Error: bare <CR> or <LF> received; only <CR><LF> ends a line');
export const tlsRequired = (): SmtpReply => reply(530, '7.0', 'Must issue a STARTTLS command first');
export const tlsAlreadyActive = (): SmtpReply => reply(503, '5.1', 'Error: TLS already active');

// --- SMTP AUTH (RFC 4954) ---------------------------------------------------------------------------
/** §4: a server challenge; the text is base64 (empty for PLAIN without an initial response). */
export const authChallenge = (base64: string): SmtpReply => reply(334, null, base64);
export const authSucceeded = (): SmtpReply => reply(235, '7.0', 'Authentication successful');
/** §6: 535 5.7.8, the same text whether the user or the password was wrong. */
export const authFailed = (): SmtpReply => reply(535, '7.8', 'Authentication credentials invalid');
/** §6: 454 4.7.0, the credential store could not answer (directory down): try later. */
export const authTemporaryFailure = (): SmtpReply => reply(454, '7.0', 'Temporary authentication failure');
/** §6: 538 5.7.11, AUTH over a connection that is not encrypted. */
export const authNeedsEncryption = (): SmtpReply => reply(538, '7.11', 'Encryption required for requested authentication mechanism');
/** §6: 530 5.7.0, this listener takes mail only from authenticated clients. */
export const authRequired = (): SmtpReply => reply(530, '7.0', 'Authentication required');
/** §4: the client cancelled the exchange with "*". */
export const authCancelled = (): SmtpReply => reply(501, '0.0', 'Authentication cancelled');
export const authBadResponse = (): SmtpReply => reply(501, '5.2', 'Cannot decode the authentication response');
export const authUnknownMechanism = (): SmtpReply => reply(504, '5.4', 'Unrecognized authentication type');
export const authAlreadyDone = (): SmtpReply => reply(503, '5.1', 'Error: already authenticated');

// --- policy and content -----------------------------------------------------------------------------
export const relayDenied = (): SmtpReply => reply(554, '7.1', 'Relay access denied');
export const policyRejected = (text = 'Message rejected by policy'): SmtpReply => reply(550, '7.1', clean(text));
export const sizeExceeded = (): SmtpReply => reply(552, '3.4', 'Message size exceeds fixed maximum message size');
export const headerTooBig = (): SmtpReply => reply(552, '3.4', 'Message header size exceeds limit');
export const textLineTooLong = (): SmtpReply => reply(554, '6.0', 'Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)');
export const nonAsciiNeedsSmtpUtf8 = (): SmtpReply =>
  reply(553, '6.7', 'Non-ASCII address requires the SMTPUTF8 parameter (RFC 6531)');
export const nulInContent = (): SmtpReply => reply(554, '6.0', 'Message contains NUL characters');
export const noValidRecipients = (): SmtpReply => reply(554, '5.1', 'Error: no valid recipients');
/** End of data (RFC 5321 §4.2.3: 554 transaction failed; RFC 3463 X.7.1 delivery not authorized): an attachment type we refuse. */
export const attachmentRejected = (): SmtpReply => reply(554, '7.1', 'Message rejected: it carries an attachment type that is not accepted here');
/**
 * Postfix's reject_sender_login_mismatch (smtpd_sender_login_maps): MAIL FROM names an address the
 * authenticated account does not own. 553 (RFC 5321 §4.2.2: mailbox name not allowed) and X.7.1
 * (RFC 3463 §3.8: delivery not authorized), Postfix's code and text without the echoed address.
 */
export const senderNotOwned = (): SmtpReply => reply(553, '7.1', 'Sender address rejected: not owned by user');
/** End of data: an RFC 5322 From: mailbox (every one must be owned) is not the authenticated account's. 550 X.7.1. */
export const headerFromNotOwned = (): SmtpReply => reply(550, '7.1', 'Message rejected: From: address not owned by user');
/** Postfix's reject_unknown_sender_domain: no MX and no A/AAAA (RFC 5321 §5.1), or a null MX (RFC 7505). */
export const senderDomainNotFound = (): SmtpReply => reply(550, '1.8', 'Sender address rejected: Domain not found');
/** RFC 7372 §3.2: SPF "fail" for the sender (or HELO) domain; `domain` only when it is a validated name. */
export const spfRejected = (domain?: string): SmtpReply =>
  reply(550, '7.23', domain ? `SPF validation failed: ${clean(domain)} does not authorize this host to send its mail` : 'SPF validation failed');
/** RFC 7489 §6.6.4 (X.7.1): the RFC5322.From domain's DMARC policy is p=reject and the message failed it. */
export const dmarcRejected = (domain?: string): SmtpReply =>
  reply(550, '7.1', domain ? `Message rejected: it fails the DMARC policy of ${clean(domain)}` : 'Message rejected: it fails the DMARC policy of its From: domain');

/**
 * Wire form. RFC 2034 §3: enhanced codes go on every reply but the greeting and the EHLO/HELO
 * response, and only once the client has seen ENHANCEDSTATUSCODES in our EHLO.
 */
export function formatReply(r: SmtpReply, withStatus = true, continued = false): string {
  const prefix = withStatus && r.status ? `${r.status} ` : '';
  let out = '';
  r.lines.forEach((line, i) => {
    // `continued`: more lines of this reply follow later (RFC 5321 §4.2.1 "code-" on every line but the last).
    const sep = i === r.lines.length - 1 && !continued ? ' ' : '-';
    out += `${r.code}${sep}${prefix}${line}\r\n`;
  });
  return out;
}

/**
 * Builds a reply from downstream lines (relay client). Lines must already be split and stripped of
 * CRLF; the enhanced status is taken from the first line when present.
 */
export function downstreamReply(code: number, rawLines: readonly string[]): SmtpReply {
  if (!Number.isInteger(code) || code < 200 || code > 599) throw new ReplyClassMismatch(`bad downstream code ${code}`);
  const firstWord = (rawLines[0] ?? '').split(' ', 1)[0] ?? '';
  const parsed = parseStatus(firstWord);
  // RFC 3463 §2: a status whose class disagrees with the code is not a status; keep the text whole.
  const status = parsed && parsed[0] === String(code)[0] ? parsed : null;
  const lines = rawLines.map((l) => {
    if (!status) return l;
    const w = l.split(' ', 1)[0] ?? '';
    return parseStatus(w) ? l.slice(w.length + 1) : l;
  });
  return Object.freeze({ code, status, lines: Object.freeze(lines) });
}

/** One line for logs and DSNs: "550 5.1.1 User unknown". */
export function replyToString(r: SmtpReply): string {
  return `${r.code}${r.status ? ` ${r.status}` : ''} ${r.lines.join(' / ')}`.trimEnd();
}

// --- pipeline verdicts --------------------------------------------------------------------------------
export const connectionDeferred = (text = 'Service temporarily unavailable, try again later'): SmtpReply => reply(421, '7.0', clean(text));
export const userUnknown = (): SmtpReply => reply(550, '1.1', 'Recipient address rejected: User unknown');
/**
 * Recipient validation could not decide (directory or LAN server down or slow). RFC 3463 §3.5 X.4.3
 * "Directory server failure ... useful only as a persistent transient error" is that situation; 451
 * because the failure is in our processing (RFC 5321 §4.2.2), not a state of the mailbox (450).
 */
export const recipientUnverified = (): SmtpReply => reply(451, '4.3', 'Recipient address cannot be verified now, try again later');
export const messageRejected = (reference: string): SmtpReply => reply(550, '7.1', `Message rejected as spam (ref ${clean(reference)})`);
export const otherPolicyRecipient = (): SmtpReply => reply(452, '5.3', 'Recipient has a different policy: send it in a new transaction');
/**
 * A virus in the content (antivirus check). 554 "Transaction failed" is the end-of-data refusal
 * (RFC 5321 §4.2.3), X.7.1 "delivery not authorized, message refused" (RFC 3463 §3.8). The
 * signature name, when given, tells a legitimate sender what was found; only its safe characters go.
 */
export const virusFound = (signature: string | null): SmtpReply =>
  reply(554, '7.1', `Message rejected: virus found${signature ? ` (${signature.replace(/[^A-Za-z0-9._:/+-]/g, '?').slice(0, 100)})` : ''}`);
/** Greylisting (RFC 6647): an unknown sender/recipient/client triplet is deferred until it retries. */
export const greylisted = (): SmtpReply => reply(451, '7.1', 'Greylisted, please try again later');
/** Mail volume over a configured rate; 450 keeps the session (a connection flood gets 421 instead). */
export const rateLimited = (what: 'client' | 'sender' | 'recipient'): SmtpReply =>
  reply(450, '7.1', what === 'recipient' ? 'Too much mail for this recipient, try again later' : `Too much mail from this ${what}, try again later`);

/**
 * Soft bounce (safe rollout): a permanent reply becomes the matching temporary one, same detail and
 * text (X.7.1 stays X.7.1), so a mistake in a new policy delays mail instead of losing it.
 */
export function softened(r: SmtpReply): SmtpReply {
  if (r.code < 500) return r;
  const status = r.status ? (`4${r.status.slice(1)}` as EnhancedStatus) : null;
  // 552 (storage) has its own 452; every other refusal becomes the generic 450.
  return Object.freeze({ code: r.code === 552 ? 452 : 450, status, lines: r.lines });
}
