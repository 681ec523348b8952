/**
 * The seam between protocol and policy (CONVENTIONS.md 1): one method per SMTP phase. The session
 * engine calls these with parsed, validated values and sends whatever reply they return; it never
 * learns why. A handler that throws is answered with a 451 and a reference id, never the error text.
 */
import type { Mailbox, ReversePath } from '../address.js';
import type { MailParams, RcptParams } from '../params.js';
import type { SmtpReply } from '../reply.js';
import type { AuthCredentials, AuthMechanism } from './sasl.js';

export type { AuthCredentials, AuthMechanism } from './sasl.js';

export interface ConnectionInfo {
  /** Unique per connection, for logs. */
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Set when a trusted proxy told the client's address (PROXY protocol): the proxy's own socket address. */
  readonly proxiedBy?: string;
}

/**
 * What connect() may ask of the greeting besides refusing: with `pregreetWaitMs` > 0 the engine
 * sends the first line of a multi-line greeting ("220-host ESMTP"), watches the input for that long
 * (or until the client talks), then asks greeted() whether to go on.
 */
export interface GreetingPlan {
  readonly pregreetWaitMs: number;
}

/** What the client did before our greeting was complete. */
export interface EarlyTalk {
  /** The client sent octets before the final greeting line. */
  readonly talkedFirst: boolean;
  /** How many octets were waiting when the engine looked. */
  readonly octets: number;
}

export interface TlsInfo {
  readonly protocol: string;
  readonly cipher: string;
}

export interface Recipient {
  readonly mailbox: Mailbox;
  readonly params: RcptParams;
}

/** The envelope of the transaction in progress, as the engine accepted it. */
export interface Transaction {
  readonly helo: string;
  readonly extended: boolean;
  readonly tls: TlsInfo | null;
  readonly from: ReversePath;
  readonly mailParams: MailParams;
  readonly recipients: readonly Recipient[];
}

export interface ContentInfo {
  /** Octets of the message as received (after dot-unstuffing). */
  readonly size: number;
  /** Whether the content holds octets above 127. */
  readonly eightBit: boolean;
}

/** Where the message content goes while it arrives; owned by the handler (e.g. a spool file). */
export interface MessageSink {
  /** Appends content; the engine awaits the promise before reading more (backpressure). */
  write(chunks: readonly Buffer[]): Promise<void>;
  /** End of data: decide and make durable; the reply is sent as is (250 only once on disk). */
  finish(info: ContentInfo): Promise<SmtpReply>;
  /** The transaction failed or the client went away: forget the content. `refusal`: the reply the engine sent when it refused the content itself. */
  abort(refusal?: SmtpReply): Promise<void>;
}

export interface SessionHandler {
  /** Before the greeting; a reply refuses the connection (554) or defers it (421); a plan asks for a pregreet wait. */
  connect(): Promise<SmtpReply | GreetingPlan | null>;
  /**
   * After a pregreet wait (only when connect() asked for one): a reply is sent and the session
   * closed; null completes the greeting and early input is then read as commands.
   */
  greeted?(early: EarlyTalk): Promise<SmtpReply | null>;
  helo(name: string, extended: boolean): Promise<SmtpReply | null>;
  mailFrom(from: ReversePath, params: MailParams): Promise<SmtpReply | null>;
  /** A 2xx (or null) accepts the recipient; the engine records it in the transaction. */
  rcptTo(to: Mailbox, params: RcptParams, tx: Transaction): Promise<SmtpReply | null>;
  /** At DATA (before 354) or the first BDAT: a sink to receive the content, or a refusal. */
  openMessage(tx: Transaction): Promise<MessageSink | SmtpReply>;
  /** RSET, a new EHLO, or the end of a transaction: per-transaction state is over. */
  reset(): void;
  tlsStarted(info: TlsInfo): void;
  /**
   * SMTP AUTH (RFC 4954): the engine has decoded the client's credentials; the handler checks them
   * and answers 235 (authenticated), 535 5.7.8 (invalid) or 454 4.7.0 (cannot tell now). Called
   * only under TLS, outside a transaction, once per session at most successfully. Without this
   * method the engine offers no AUTH.
   */
  authenticate?(mechanism: AuthMechanism, credentials: AuthCredentials): Promise<SmtpReply>;
  /** The connection is closed, for whatever reason; called exactly once. */
  close(reason: CloseReason): void;
}

export type CloseReason =
  | 'quit'
  | 'client-closed'
  | 'timeout'
  | 'too-many-errors'
  | 'command-rate'
  | 'bare-newline'
  | 'refused'
  | 'shutdown'
  | 'error';

export type ProtocolEvent =
  | { readonly kind: 'command'; readonly verb: string }
  | { readonly kind: 'reply'; readonly reply: SmtpReply }
  | { readonly kind: 'discarded-after-starttls'; readonly octets: number };
