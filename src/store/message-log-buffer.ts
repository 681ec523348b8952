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

export const DEFAULT_BUFFER = { flushMs: 100, batch: 500, maxBuffered: 20_000 } as const;

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
    if (this.writing) return; // the running write schedules the next one
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  /** Writes what is buffered now (and whatever arrives meanwhile), one batch after another. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batch);
      this.writing = this.store.write(batch).then(
        () => {
          this.written += batch.length;
        },
        (e: unknown) => {
          this.dropped += batch.length;
          this.options.onError(e, batch.length);
        },
      );
      await this.writing;
      this.writing = null;
      if (this.overflow > 0) {
        this.options.onError(new Error('message log buffer full'), this.overflow);
        this.overflow = 0;
      }
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
