/**
 * The message log port (DESIGN.md §6: "message log (tracking)"): one entry per SMTP transaction that
 * reached MAIL FROM — and per connection refused before it — with the envelope, what the checks
 * found, the verdict and the reply we sent; then one event per delivery attempt and per change of
 * the message's state (delivered, bounced, expired, deleted, released from quarantine). It is what
 * `moat explain` and the admin console read. Embedded: SQLite (src/store/sqlite); several nodes:
 * PostgreSQL — so the interface is async and knows no SQL dialect.
 * Trusts its callers' values (they come from our own session and scheduler); bounds nothing itself
 * (the session bounds subjects, ids and detail texts before they get here). A failing store
 * rejects with MessageLogError; the writer (message-log-buffer.ts) counts and drops, mail never waits.
 */

export type LoggedPhase = 'connect' | 'helo' | 'mailFrom' | 'rcptTo' | 'data';

/**
 * What happened to the transaction: the verdict's action for a scanned message, reject/defer for a
 * refusal at any phase (or a storage failure), abandoned when the client went away or reset before
 * the end of data with no refusal of ours.
 */
export type LoggedAction = 'accept' | 'tag' | 'quarantine' | 'reject' | 'defer' | 'abandoned';

export const LOGGED_ACTIONS: readonly LoggedAction[] = ['accept', 'tag', 'quarantine', 'reject', 'defer', 'abandoned'];

/** Later states of an accepted message. */
export type MessageState = 'queued' | 'quarantined' | 'released' | 'delivered' | 'partly-delivered' | 'bounced' | 'expired' | 'deleted';

export interface LoggedReply {
  readonly code: number;
  /** Enhanced status (RFC 3463), null when the reply had none. */
  readonly status: string | null;
  /** The reply text, lines joined with a space. */
  readonly text: string;
}

export interface LoggedFinding {
  readonly symbol: string;
  readonly check: string;
  readonly phase: LoggedPhase;
  readonly score: number;
  readonly detail: string;
  readonly description: string;
  readonly observed: boolean;
}

export interface LoggedThresholds {
  readonly tag: number | null;
  readonly quarantine: number | null;
  readonly reject: number | null;
}

export interface LoggedVerdict {
  readonly score: number;
  readonly thresholds: LoggedThresholds;
  readonly profile: string;
  /** Why this action: "score 16.2 >= reject 15", "symbol RELAY_DENIED: reject", "spool: disk full". */
  readonly reason: string;
  readonly findings: readonly LoggedFinding[];
}

export interface LoggedRecipient {
  readonly address: string;
  readonly accepted: boolean;
  readonly reply: LoggedReply;
  /** The symbol that refused it, if one did. */
  readonly symbol: string | null;
}

export interface LoggedClient {
  readonly ip: string;
  readonly port: number;
  /** The client's PTR name when the rDNS check looked it up. */
  readonly ptr: string | null;
  readonly helo: string | null;
  /** "TLSv1.3 TLS_AES_256_GCM_SHA384", or null for a plain session. */
  readonly tls: string | null;
}

export interface TransactionEntry {
  /** ms since the epoch: MAIL FROM, or the refusal for an entry without a sender. */
  readonly time: number;
  /** The queue id once DATA began; before that "SESSION.N", unique per session. */
  readonly queueId: string;
  readonly sessionId: string;
  readonly client: LoggedClient;
  /** null: refused before MAIL FROM; '' is the null reverse path. */
  readonly sender: string | null;
  readonly mailReply: LoggedReply | null;
  readonly recipients: readonly LoggedRecipient[];
  /** Decoded Subject: and Message-ID:, bounded, when the content was received. */
  readonly subject: string | null;
  readonly messageId: string | null;
  readonly size: number | null;
  /** The phase whose decision ended the transaction. */
  readonly phase: LoggedPhase;
  readonly action: LoggedAction;
  readonly verdict: LoggedVerdict;
  /** The reply that ended the transaction (null when the client left without one). */
  readonly reply: LoggedReply | null;
  /** How long the end-of-data checks took, in ms. */
  readonly scanMs: number | null;
}

export interface DeliveryAttemptEvent {
  readonly kind: 'attempt';
  readonly queueId: string;
  readonly time: number;
  readonly recipients: readonly string[];
  /** The LAN server (or MX host) that answered; null when none was reached. */
  readonly relay: string | null;
  /** Its reply, or our own reason ("4.4.1 connection refused"). */
  readonly reply: string;
  readonly outcome: 'delivered' | 'retry' | 'failed';
}

export interface StateEvent {
  readonly kind: 'state';
  readonly queueId: string;
  readonly time: number;
  readonly state: MessageState;
}

export type MessageEvent = DeliveryAttemptEvent | StateEvent;

export type LogRecord = { readonly kind: 'transaction'; readonly entry: TransactionEntry } | MessageEvent;

export interface MessageSearch {
  /** Time range (ms since the epoch), inclusive start, exclusive end. */
  readonly since?: number;
  readonly until?: number;
  readonly queueId?: string;
  /** An address (case ignored), or "@domain" for every sender of that domain. */
  readonly sender?: string;
  readonly recipient?: string;
  readonly clientIp?: string;
  /** Case-insensitive: entries whose subject starts with it, or contains it with subjectMatch 'contains'. */
  readonly subject?: string;
  readonly subjectMatch?: 'prefix' | 'contains';
  readonly action?: LoggedAction;
  /** 1..1000. */
  readonly limit: number;
  /** From a previous page's `next`: entries older than its last one. */
  readonly cursor?: string;
}

export interface MessageSummary {
  readonly time: number;
  readonly queueId: string;
  readonly clientIp: string;
  readonly sender: string | null;
  readonly recipients: readonly string[];
  readonly subject: string | null;
  readonly action: LoggedAction;
  readonly phase: LoggedPhase;
  readonly score: number;
  readonly reply: LoggedReply | null;
  readonly state: MessageState | null;
  /** The node that received it, where the store keeps one (the cluster store). */
  readonly node?: string;
}

export interface MessagePage {
  readonly items: readonly MessageSummary[];
  /** Cursor of the next (older) page, null when this was the last. */
  readonly next: string | null;
}

/** Everything known about one queue id: its transaction (none for a DSN we made) and its events in order. */
export interface MessageStory {
  readonly queueId: string;
  readonly entry: TransactionEntry | null;
  readonly events: readonly MessageEvent[];
  readonly state: MessageState | null;
  /** The node that received it, where the store keeps one (the cluster store). */
  readonly node?: string;
}

export interface MessageLogStore {
  /** Writes the records in one transaction, in order. */
  write(records: readonly LogRecord[]): Promise<void>;
  search(q: MessageSearch): Promise<MessagePage>;
  story(queueId: string): Promise<MessageStory | null>;
  /** The newest entry of each queue id given that has one (for lists of quarantined or queued mail). */
  lookup(queueIds: readonly string[]): Promise<MessageSummary[]>;
  /** Deletes up to `limit` entries and up to `limit` events older than `before`; how many rows went. */
  prune(before: number, limit: number): Promise<number>;
  close(): Promise<void>;
}

export class MessageLogError extends Error {
  readonly code = 'MESSAGE_LOG_ERROR';
  readonly transient = true;
}

/** A keyset cursor: the (time, row id) of the last entry of a page, opaque to callers. */
export function encodeCursor(time: number, id: number): string {
  return Buffer.from(`${time}:${id}`, 'latin1').toString('base64url');
}

export function decodeCursor(cursor: string): { time: number; id: number } | null {
  const m = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  return m ? { time: Number(m[1]), id: Number(m[2]) } : null;
}

/** The state a message is left in once no recipient is pending any more. */
export function finalState(statuses: readonly ('pending' | 'delivered' | 'failed' | 'expired')[]): MessageState | null {
  if (statuses.some((s) => s === 'pending')) return null;
  if (statuses.every((s) => s === 'delivered')) return 'delivered';
  if (statuses.some((s) => s === 'delivered')) return 'partly-delivered';
  return statuses.some((s) => s === 'failed') ? 'bounced' : 'expired';
}

/** `lookup` for any store that can search by queue id: the newest entry of each id, in the ids' order. */
export async function lookupEach(store: Pick<MessageLogStore, 'search'>, queueIds: readonly string[]): Promise<MessageSummary[]> {
  const out: MessageSummary[] = [];
  for (const id of new Set(queueIds)) {
    const page = await store.search({ queueId: id, limit: 1 });
    if (page.items[0]) out.push(page.items[0]);
  }
  return out;
}
