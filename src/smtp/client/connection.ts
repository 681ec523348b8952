/**
 * An open, greeted SMTP connection to one downstream server, ready for transactions. One operation at
 * a time (a second concurrent call is a BUSY error); any I/O failure, timeout, abort or 421 leaves
 * `usable` false so the relay's pool drops it. The client speaks only EHLO, HELO, STARTTLS, MAIL,
 * RCPT, DATA, RSET, NOOP and QUIT, whatever the server advertises (DESIGN.md §1).
 *
 * Reuse: after a completed DATA (any final reply) the server has cleared its buffers (RFC 5321
 * §4.1.1.4), so no RSET is needed. When a transaction is left open — MAIL accepted, but no recipient
 * accepted or DATA refused — `send` issues RSET (§4.1.1.5) before it returns, so a connection handed
 * back to the pool is always at a clean state. `reset()` is there for callers that want it anyway.
 */
import type { SmtpReply } from '../reply.js';
import type { Capabilities } from './capabilities.js';
import { checkPreconditions, validateEnvelope, type Envelope, type PreconditionFailure } from './envelope.js';
import { SmtpClientError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { runProbe, runTransaction, type ProbeResult, type TransactionResult } from './transaction.js';
import type { Transport } from './transport.js';

export type SendResult = TransactionResult | PreconditionFailure;

export interface SessionInfo {
  /** True once STARTTLS succeeded (RFC 3207). */
  readonly secure: boolean;
  /** The server's certificate chain and name checked out (whether or not verification was required). */
  readonly tlsVerified?: boolean;
  /** Why it did not (OpenSSL's or the name check's reason), when TLS is up and unverified. */
  readonly tlsProblem?: string | null;
  /** The TLSA record the chain matched, when the connection was made under DANE (RFC 7672). */
  readonly dane?: string;
  readonly greeting: SmtpReply;
  /** The EHLO (or HELO) reply in force: after STARTTLS, the second one. */
  readonly hello: SmtpReply;
  readonly capabilities: Capabilities;
}

const NEVER = new AbortController().signal;

export class SmtpConnection {
  readonly #t: Transport;
  readonly #options: ResolvedOptions;
  readonly info: SessionInfo;
  #busy = false;
  #closed = false;

  constructor(transport: Transport, options: ResolvedOptions, info: SessionInfo) {
    this.#t = transport;
    this.#options = options;
    this.info = Object.freeze({ ...info });
  }

  get capabilities(): Capabilities {
    return this.info.capabilities;
  }

  /** False after an error, a 421, a drop, QUIT or close(): the connection must not be reused. */
  get usable(): boolean {
    return !this.#closed && this.#t.fatal === null && !this.#t.hasUnsolicited;
  }

  /**
   * One mail transaction. Requirements the server cannot meet (SMTPUTF8, 8BITMIME, SIZE) come back
   * as a PreconditionFailure before anything is sent. Otherwise the result holds the MAIL reply, one
   * reply per recipient (input order) and the DATA outcome; see `recipientOutcomes`. Throws
   * SmtpClientError for connection-level failures (all recipients: retry later when `transient`).
   */
  async send(envelope: Envelope, body: AsyncIterable<Buffer | string>, signal: AbortSignal): Promise<SendResult> {
    validateEnvelope(envelope);
    const pre = checkPreconditions(envelope, this.capabilities);
    if (pre) return pre;
    return this.#run(signal, async () => {
      const run = await runTransaction(this.#t, this.capabilities, this.#options.timeouts, envelope, body, signal);
      if (run.open && this.#t.fatal === null) {
        // The result stands even if this RSET fails; the connection is then merely not reusable.
        await this.#rset(signal).catch(() => undefined);
      }
      return run.result;
    });
  }

  /**
   * Asks whether the server would take mail for `to` from `from` ('' for the null sender): MAIL and
   * RCPT, then RSET — never DATA (recipient verification, as Postfix's reject_unverified_recipient).
   * A requirement the server cannot meet (SMTPUTF8 for a UTF-8 address) comes back as a
   * PreconditionFailure before anything is sent. Throws SmtpClientError like `send`.
   */
  async verifyRecipient(from: string, to: string, signal: AbortSignal): Promise<ProbeResult | PreconditionFailure> {
    const envelope: Envelope = { from, size: 0, body8bit: false, needsSmtpUtf8: false, ret: null, envid: null, recipients: [{ address: to, notify: null, orcpt: null }] };
    validateEnvelope(envelope);
    const pre = checkPreconditions(envelope, this.capabilities);
    if (pre) return pre;
    return this.#run(signal, async () => {
      const run = await runProbe(this.#t, this.capabilities, this.#options.timeouts, envelope, signal);
      if (run.open && this.#t.fatal === null) await this.#rset(signal).catch(() => undefined);
      return run.result;
    });
  }

  /** RSET (RFC 5321 §4.1.1.5). A non-2xx reply makes the connection unusable (REJECTED). */
  reset(signal: AbortSignal): Promise<SmtpReply> {
    return this.#run(signal, () => this.#rset(signal));
  }

  /** NOOP (RFC 5321 §4.1.1.9): a liveness check for pooled connections. */
  noop(signal: AbortSignal): Promise<SmtpReply> {
    return this.#run(signal, async () => {
      const r = await this.#t.command('NOOP', this.#options.timeouts.command, signal);
      if (r.code >= 200 && r.code < 300) return r;
      throw new SmtpClientError('REJECTED', `NOOP answered ${r.code}`, { transient: true, reply: r });
    });
  }

  /** QUIT (RFC 5321 §4.1.1.10), then close. Best effort: never rejects. */
  async quit(signal: AbortSignal = NEVER): Promise<void> {
    if (this.usable && !this.#busy) {
      this.#busy = true;
      try {
        await this.#t.command('QUIT', this.#options.timeouts.command, signal);
      } catch {
        // Nothing to do: we were leaving anyway.
      } finally {
        this.#busy = false;
      }
    }
    this.close();
  }

  /** Drops the connection at once (no QUIT). Idempotent. */
  close(): void {
    this.#closed = true;
    this.#t.fail(new SmtpClientError('UNUSABLE', 'connection closed by the client', { transient: true }));
  }

  async #rset(signal: AbortSignal): Promise<SmtpReply> {
    const r = await this.#t.command('RSET', this.#options.timeouts.command, signal);
    if (r.code >= 200 && r.code < 300) return r;
    throw new SmtpClientError('REJECTED', `RSET answered ${r.code}`, { transient: true, reply: r });
  }

  async #run<T>(signal: AbortSignal, op: () => Promise<T>): Promise<T> {
    if (this.#busy) throw new SmtpClientError('BUSY', 'another operation is in progress on this connection', { transient: true });
    if (this.#closed) throw new SmtpClientError('UNUSABLE', 'connection was closed', { transient: true });
    const fatal = this.#t.fatal;
    if (fatal) throw new SmtpClientError('UNUSABLE', `connection is no longer usable (${fatal.code})`, { transient: true, reply: fatal.reply, cause: fatal });
    if (signal.aborted) throw new SmtpClientError('ABORTED', 'aborted before start', { transient: true });
    this.#busy = true;
    try {
      this.#checkIdle();
      return await op();
    } catch (e) {
      const err = e instanceof SmtpClientError ? e : new SmtpClientError('PROTOCOL', String(e), { transient: true, cause: e });
      this.#t.fail(err); // No-op when the transport already failed with its own error.
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** A reply that arrived while idle is a 421 (the server timed us out) or a desync. */
  #checkIdle(): void {
    if (!this.#t.hasUnsolicited) return;
    const r = this.#t.takeQueued();
    const e = r?.code === 421
      ? new SmtpClientError('SERVICE_UNAVAILABLE', 'server closed the idle connection (421)', { transient: true, reply: r })
      : new SmtpClientError('PROTOCOL', 'unsolicited data from the server', { transient: true, reply: r });
    throw e;
  }
}

/**
 * The final reply for each recipient, in input order: the MAIL reply when MAIL failed, the RCPT reply
 * when that recipient was refused, otherwise the DATA outcome. 2xx delivered, 4xx retry, 5xx bounce.
 */
export function recipientOutcomes(result: TransactionResult): SmtpReply[] {
  return result.recipients.map((r) => (r.code >= 200 && r.code < 300 && result.data ? result.data : r));
}
