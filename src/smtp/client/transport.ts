/**
 * One socket (plain or TLS) seen as a sequence of SMTP replies. Every wait — for a reply or for the
 * socket to drain — has a timeout and honours an AbortSignal; a timeout, an abort, a parse error, a
 * drop or a 421 (RFC 5321 §3.8) kills the transport for good, because after any of them we no longer
 * know which reply belongs to which command. Trusts nothing the peer sends (ReplyParser checks it).
 */
import type { Socket } from 'node:net';
import type { SmtpReply } from '../reply.js';
import { SmtpClientError } from './errors.js';
import { ReplyParser, type ReplyLimits } from './reply-reader.js';

type Settle<T> = { resolve: (v: T) => void; reject: (e: SmtpClientError) => void };

export class Transport {
  readonly socket: Socket;
  readonly #parser: ReplyParser;
  readonly #replies: SmtpReply[] = [];
  #waiter: Settle<SmtpReply> | null = null;
  #drain: Settle<void> | null = null;
  #fatal: SmtpClientError | null = null;

  readonly #onData = (chunk: Buffer): void => {
    try {
      for (const r of this.#parser.push(chunk)) this.#replies.push(r);
    } catch (e) {
      this.fail(e instanceof SmtpClientError ? e : new SmtpClientError('PROTOCOL', String(e), { transient: true }));
      return;
    }
    this.#deliver();
  };
  readonly #onDrain = (): void => {
    const d = this.#drain;
    this.#drain = null;
    d?.resolve();
  };
  readonly #onError = (err: Error): void => {
    this.fail(new SmtpClientError('CLOSED', `connection failed: ${err.message}`, { transient: true, cause: err }));
  };
  readonly #onClose = (): void => {
    this.fail(new SmtpClientError('CLOSED', 'connection closed by the server', { transient: true }));
  };

  constructor(socket: Socket, limits: ReplyLimits) {
    this.socket = socket;
    this.#parser = new ReplyParser(limits);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onError);
    socket.on('end', this.#onClose);
    socket.on('close', this.#onClose);
  }

  /** The error that killed this transport, or null while it is alive. */
  get fatal(): SmtpClientError | null {
    return this.#fatal;
  }

  /** A reply (or part of one) that arrived while no command was outstanding. */
  get hasUnsolicited(): boolean {
    return this.#replies.length > 0 || this.#parser.pending;
  }

  /** A complete reply already received, without waiting; used to keep a reply that came before a drop. */
  takeQueued(): SmtpReply | null {
    return this.#replies.shift() ?? null;
  }

  readReply(timeoutMs: number, signal: AbortSignal, what: string): Promise<SmtpReply> {
    const next = this.#replies.shift();
    if (next) {
      try {
        return Promise.resolve(this.#check(next));
      } catch (e) {
        return Promise.reject(e as SmtpClientError);
      }
    }
    if (this.#fatal) return Promise.reject(this.#fatal);
    const p = new Promise<SmtpReply>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    return this.#guard(p, timeoutMs, signal, what);
  }

  /** Writes and, when the socket buffer is full, waits for 'drain' (backpressure). */
  write(data: Buffer | string, timeoutMs: number, signal: AbortSignal, what: string): Promise<void> {
    if (this.#fatal) return Promise.reject(this.#fatal);
    if (signal.aborted) return Promise.reject(this.#abort(what));
    if (this.socket.write(data)) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      this.#drain = { resolve, reject };
    });
    return this.#guard(p, timeoutMs, signal, what);
  }

  async command(line: string, timeoutMs: number, signal: AbortSignal): Promise<SmtpReply> {
    const verb = line.split(' ', 1)[0] ?? line;
    await this.write(`${line}\r\n`, timeoutMs, signal, verb);
    return this.readReply(timeoutMs, signal, verb);
  }

  /**
   * Hands the socket over for the TLS handshake. RFC 3207 §5 (STARTTLS injection): anything that
   * arrived after the 220 was sent before the handshake, by the server or by a man in the middle, so
   * its presence is a protocol error rather than a reply to keep.
   */
  detach(): Socket {
    if (this.#fatal) throw this.#fatal;
    if (this.hasUnsolicited) {
      const e = new SmtpClientError('PROTOCOL', 'data received after the 220 to STARTTLS (RFC 3207 §5)', { transient: true });
      this.fail(e);
      throw e;
    }
    this.#unlisten();
    this.#fatal = new SmtpClientError('UNUSABLE', 'transport handed over to TLS', { transient: true });
    return this.socket;
  }

  /** Kills the transport: the socket is destroyed and every waiter rejected with `error`. */
  fail(error: SmtpClientError): void {
    if (this.#fatal) return;
    this.#fatal = error;
    this.#unlisten();
    // Swallow late socket errors after we gave up on it.
    this.socket.on('error', () => undefined);
    this.socket.destroy();
    const w = this.#waiter;
    const d = this.#drain;
    this.#waiter = null;
    this.#drain = null;
    w?.reject(error);
    d?.reject(error);
  }

  #unlisten(): void {
    this.socket.off('data', this.#onData);
    this.socket.off('drain', this.#onDrain);
    this.socket.off('error', this.#onError);
    this.socket.off('end', this.#onClose);
    this.socket.off('close', this.#onClose);
  }

  #deliver(): void {
    const w = this.#waiter;
    const next = w ? this.#replies.shift() : undefined;
    if (!w || !next) return;
    this.#waiter = null;
    try {
      w.resolve(this.#check(next));
    } catch (e) {
      w.reject(e as SmtpClientError);
    }
  }

  /** RFC 5321 §3.8: 421 means the server is closing the channel, whatever command it answers. */
  #check(reply: SmtpReply): SmtpReply {
    if (reply.code !== 421) return reply;
    const e = new SmtpClientError('SERVICE_UNAVAILABLE', 'server closing the channel (421)', { transient: true, reply });
    this.fail(e);
    throw e;
  }

  #abort(what: string): SmtpClientError {
    const e = new SmtpClientError('ABORTED', `aborted during ${what}`, { transient: true });
    this.fail(e);
    return e;
  }

  #guard<T>(work: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.#abort(what));
      const timer = setTimeout(() => {
        const e = new SmtpClientError('TIMEOUT', `${what} timed out after ${ms} ms`, { transient: true });
        this.fail(e);
        reject(e);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) {
        done();
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => { done(); resolve(v); },
        (e: unknown) => { done(); reject(e); },
      );
    });
  }
}
