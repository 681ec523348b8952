/**
 * What the queue tells the DSN builder: the message's envelope facts and one entry per recipient
 * the DSN is about (RFC 3464 §2.2 per-message and §2.3 per-recipient fields). Types only.
 */
import type { DsnRet } from '../smtp/params.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { EnhancedStatus } from '../smtp/status.js';
import type { DsnKind } from './notify.js';

/** RFC 3464 §2.3.3 action values. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  /** The address we tried (RCPT TO, without angle brackets): Final-Recipient (RFC 3464 §2.3.2). */
  readonly finalRecipient: string;
  /** The ORCPT parameter, already decoded from xtext (RFC 3461 §4.2): Original-Recipient. */
  readonly originalRecipient: { readonly addrType: string; readonly address: string } | null;
  readonly action: DsnAction;
  /** RFC 3464 §2.3.4; its class should agree with the action (5 failed, 4 delayed, 2 otherwise). */
  readonly status: EnhancedStatus;
  /** Host name or IP address of the server that gave `diagnostic` (RFC 3464 §2.3.5). */
  readonly remoteMta: string | null;
  /** The downstream's reply, for Diagnostic-Code (RFC 3464 §2.3.6) and the human text. */
  readonly diagnostic: SmtpReply | null;
  readonly lastAttempt: Date | null;
  /** For 'delayed': when we give up (RFC 3464 §2.3.8). */
  readonly willRetryUntil: Date | null;
}

export interface DsnInput {
  /** Our host name: Reporting-MTA, the From address's domain and the Message-ID's right side. */
  readonly reportingMta: string;
  /** When we accepted the original (Arrival-Date, RFC 3464 §2.2.5). */
  readonly arrivalDate: Date;
  /** The injected clock's time: the DSN's Date. */
  readonly now: Date;
  /** The original envelope sender (MAIL FROM without angle brackets), who gets the DSN. */
  readonly originalSender: string;
  /** ENVID, decoded from xtext (RFC 3461 §4.4). */
  readonly envid: string | null;
  readonly ret: DsnRet | null;
  /**
   * The original message as stored (CRLF lines). The whole message, or only its header block when
   * `returnedContent(ret, kind)` is 'HDRS' and the caller would rather not read the body. It is
   * referenced, never copied, until the final concatenation (none with buildDsnChunks).
   */
  readonly original: Buffer;
  /** The original came with SMTPUTF8: report with the RFC 6533 "global" types. */
  readonly smtputf8: boolean;
  readonly kind: DsnKind;
  readonly recipients: readonly DsnRecipient[];
  /** Random source for the boundary and Message-ID (default crypto.randomBytes); inject for tests. */
  readonly random?: (size: number) => Buffer;
}

/** The DSN, ready to spool: sent from the null reverse path (RFC 3461 §6.2, RFC 5321 §4.5.5). */
export interface Dsn {
  readonly from: '';
  readonly to: string;
  readonly message: Buffer;
}

/** The same DSN as the pieces it is made of, the original among them, for writing without a copy. */
export interface DsnChunks {
  readonly from: '';
  readonly to: string;
  readonly chunks: readonly Buffer[];
  /** Total octets, and whether any is 8-bit (the spool must then ask for 8BITMIME). */
  readonly size: number;
  readonly eightBit: boolean;
}

/** Input that cannot make a well-formed DSN: a programming error upstream, never mail content. */
export class DsnInputError extends Error {
  readonly code = 'DSN_INPUT_INVALID';
  readonly transient = false;
}
