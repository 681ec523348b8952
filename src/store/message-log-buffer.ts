/**
 * The message log's writer: records are kept in memory and written in one store transaction every
 * `flushMs` or as soon as `batch` of them wait, so logging costs the SMTP path one array push.
 * Bounded: at most `maxBuffered` records wait; beyond that (a store slower than the mail) new ones
 * are dropped and counted. A failing write drops its batch, counts it and reports it (the caller
 * logs `messagelog.error`); the mail itself is never delayed or refused for the log's sake.
 * One write at a time, in order, so that a message's delivery events follow its entry.
 */
import type { LogRecord, MessageLogStore } from './message-log.js';

export interface MessageLogBufferOptions {
  readonly flushMs: number;
  readonly batch: number;
  readonly maxBuffered: number;
  /** A write failed (its records are lost), or records were refused because the buffer was full. */
  readonly onError: (error: unknown, dropped: number) => void;
}

/**
 * A SQLite write costs about 70-100 µs of CPU per message (bench/message-log.ts), on the worker's
 * event loop: a batch of 200 holds it for at most ~20 ms, and the loop gets a turn between batches.
 */
export const DEFAULT_BUFFER = { flushMs: 100, batch: 200, maxBuffered: 20_000 } as const;

export class MessageLogBuffer {
  private buffer: LogRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;
  /** Records lost since start (store failures and overflow). */
  dropped = 0;
  written = 0;
  /** Records refused for a full buffer since the last report. */
  private overflow = 0;

  constructor(
    private readonly store: MessageLogStore,
    private readonly options: MessageLogBufferOptions,
  ) {}

  add(record: LogRecord): void {
    if (this.closed) return;
    if (this.buffer.length >= this.options.maxBuffered) {
      // Counted now, reported once per write (not once per record).
      this.dropped++;
      this.overflow++;
      return;
    }
    this.buffer.push(record);
    if (this.buffer.length >= this.options.batch) this.kick(0);
    else this.kick(this.options.flushMs);
  }

  private kick(ms: number): void {
    if (this.writing) return; // the running drain takes what arrives meanwhile
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  /** Writes what is buffered now (and whatever arrives meanwhile), one batch after another. */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => {
      this.writing = null;
      // Records added after the last batch was taken, while the drain was ending.
      if (this.buffer.length > 0 && !this.closed) this.kick(this.options.flushMs);
    });
    return this.writing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batch);
      try {
        await this.store.write(batch);
        this.written += batch.length;
      } catch (e) {
        this.dropped += batch.length;
        this.options.onError(e, batch.length);
      }
      if (this.overflow > 0) {
        this.options.onError(new Error('message log buffer full'), this.overflow);
        this.overflow = 0;
      }
      // Let sockets and timers run between two batches (the store may work synchronously).
      if (this.buffer.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Writes what is left and closes the store. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    this.closed = true;
    await this.store.close();
  }
}
