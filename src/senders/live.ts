/**
 * A worker's live copy of the run-time sender entries: the sender-lists check reads `current()`
 * (a compiled snapshot, no I/O on the SMTP path); `refresh()` re-reads the store — at start, when
 * the supervisor says an entry changed (control op `senders-reload`, sent by the console and by
 * `moat senders`), and every `checks.senderLists.refresh` for changes made on other nodes.
 * Fails soft: a store that cannot be read keeps the last snapshot (logged as senders.error), so a
 * store outage neither blocks nor allows anything new; refreshes never overlap.
 */
import type { Logger } from '../platform/logger.js';
import { RuntimeSenderLists, type SenderEntryStore } from './entries.js';

export class LiveSenderLists {
  private snapshot = RuntimeSenderLists.EMPTY;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: SenderEntryStore,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  current(): RuntimeSenderLists {
    return this.snapshot;
  }

  /** Re-reads the store; a call during a refresh makes one more after it (a change is never missed). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.snapshot = new RuntimeSenderLists(await this.store.list());
        } catch (e) {
          this.logger.error('senders.error', { during: 'refresh', error: e instanceof Error ? e.message : String(e) });
        }
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  /** Refreshes every `everyMs` (restarting the timer with a new period). */
  every(everyMs: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.store.close();
  }
}
