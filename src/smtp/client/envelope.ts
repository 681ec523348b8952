/**
 * The envelope of one outbound transaction and the MAIL/RCPT command lines built from it. Parameters
 * are sent only when the server advertised their extension (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531
 * SMTPUTF8, RFC 3461 RET/ENVID/NOTIFY/ORCPT); each recipient carries its own ORCPT. Trusts the relay
 * for address syntax (the queue stores parsed addresses) but refuses control characters, so nothing
 * in an envelope can inject a command line. Unmet requirements (no SMTPUTF8, no 8BITMIME, too big)
 * are found here before a single byte is sent.
 */
import { isAscii } from '../address.js';
import { encodeXtext, formatOrcpt, type DsnNotify, type DsnRet, type Orcpt } from '../params.js';
import type { EnhancedStatus } from '../status.js';
import type { Capabilities } from './capabilities.js';
import { SmtpClientError } from './errors.js';

export interface Recipient {
  readonly address: string;
  /** null: no NOTIFY parameter; []: NOTIFY=NEVER. */
  readonly notify: readonly DsnNotify[] | null;
  readonly orcpt: Orcpt | null;
}

export interface Envelope {
  /** '' for the null reverse-path (bounces); otherwise local@domain without angle brackets. */
  readonly from: string;
  /** Message size in octets, for SIZE= (RFC 1870 §4). */
  readonly size: number;
  /** The body holds octets above 127 (BODY=8BITMIME, RFC 6152). */
  readonly body8bit: boolean;
  /** The message needs SMTPUTF8 (RFC 6531): UTF-8 headers; non-ASCII addresses imply it anyway. */
  readonly needsSmtpUtf8: boolean;
  readonly ret: DsnRet | null;
  /** ENVID before xtext encoding. */
  readonly envid: string | null;
  readonly recipients: readonly Recipient[];
}

export type PreconditionReason = 'SMTPUTF8' | '8BITMIME' | 'SIZE';

/** The message cannot go to this server as it is; nothing was sent. The relay bounces with `status`. */
export interface PreconditionFailure {
  readonly kind: 'precondition';
  readonly reason: PreconditionReason;
  readonly status: EnhancedStatus;
  readonly permanent: true;
  readonly text: string;
}

const CONTROL = /[\x00-\x1f\x7f]/;

function invalid(message: string): SmtpClientError {
  return new SmtpClientError('INVALID_ARGUMENT', message, { transient: false });
}

/** Refuses envelopes that could not be written as well-formed command lines. */
export function validateEnvelope(env: Envelope): void {
  if (env.recipients.length === 0) throw invalid('no recipients');
  if (!Number.isSafeInteger(env.size) || env.size < 0) throw invalid(`bad size ${env.size}`);
  if (CONTROL.test(env.from)) throw invalid('control character in the sender address');
  // RFC 3461 §4.4: ENVID is at most 100 characters of xtext.
  if (env.envid !== null && (env.envid === '' || encodeXtext(env.envid).length > 100)) throw invalid('ENVID empty or too long');
  for (const r of env.recipients) {
    if (r.address === '' || CONTROL.test(r.address)) throw invalid('empty recipient or control character in it');
    if (r.orcpt && (!/^[A-Za-z0-9-]+$/.test(r.orcpt.addrType) || formatOrcpt(r.orcpt).length > 500)) {
      throw invalid('ORCPT addr-type malformed or ORCPT longer than 500 characters (RFC 3461 §4.2)');
    }
  }
}

/** RFC 6531 §3.4: a non-ASCII envelope address needs SMTPUTF8 whatever the caller said. */
export function needsSmtpUtf8(env: Envelope): boolean {
  return env.needsSmtpUtf8 || !isAscii(env.from) || env.recipients.some((r) => !isAscii(r.address));
}

export function checkPreconditions(env: Envelope, caps: Capabilities): PreconditionFailure | null {
  if (needsSmtpUtf8(env) && !caps.smtpUtf8) {
    // RFC 6531 §3.2: without SMTPUTF8 downstream the message cannot be delivered (no downgrade).
    return failure('SMTPUTF8', '5.6.7', 'server does not support SMTPUTF8 (RFC 6531)');
  }
  if (env.body8bit && !caps.eightBitMime) {
    // RFC 6152 §3: without 8BITMIME we would have to convert to 7 bit; Moat does not rewrite messages.
    return failure('8BITMIME', '5.6.3', 'server does not support 8BITMIME and conversion is not done (RFC 6152)');
  }
  if (caps.size !== null && caps.size > 0 && env.size > caps.size) {
    // RFC 1870 §6: a message larger than the advertised limit is a permanent failure for this server.
    return failure('SIZE', '5.3.4', `message of ${env.size} octets exceeds the server's limit of ${caps.size}`);
  }
  return null;
}

function failure(reason: PreconditionReason, status: EnhancedStatus, text: string): PreconditionFailure {
  return Object.freeze({ kind: 'precondition', reason, status, permanent: true, text });
}

export function mailCommand(env: Envelope, caps: Capabilities): string {
  const params: string[] = [];
  if (caps.size !== null) params.push(`SIZE=${env.size}`);
  if (env.body8bit && caps.eightBitMime) params.push('BODY=8BITMIME');
  if (needsSmtpUtf8(env)) params.push('SMTPUTF8');
  if (caps.dsn) {
    if (env.ret) params.push(`RET=${env.ret}`);
    if (env.envid !== null) params.push(`ENVID=${encodeXtext(env.envid)}`);
  }
  return [`MAIL FROM:<${env.from}>`, ...params].join(' ');
}

export function rcptCommand(r: Recipient, caps: Capabilities): string {
  const params: string[] = [];
  if (caps.dsn) {
    if (r.notify) params.push(`NOTIFY=${r.notify.length === 0 ? 'NEVER' : r.notify.join(',')}`);
    if (r.orcpt) params.push(`ORCPT=${formatOrcpt(r.orcpt)}`);
  }
  return [`RCPT TO:<${r.address}>`, ...params].join(' ');
}
