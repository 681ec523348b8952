/**
 * Pacing of one session: the tarpit after errors (as Postfix's smtpd_error_sleep_time with its soft
 * and hard error limits) and the command rate limit. Pure arithmetic plus one abortable sleep; the
 * session decides when to call them. A sleeping session reads nothing (its input is bounded and the
 * socket paused past the high-water mark) and wakes at once when its deadline or shutdown aborts.
 */
import type { ServerLimits } from './options.js';

/** The delay before the reply that follows the `errors`-th error; 0 up to `afterErrors`. */
export function tarpitDelay(errors: number, t: ServerLimits['tarpit']): number {
  if (errors <= t.afterErrors || t.delayMs <= 0) return 0;
  return Math.min(t.maxDelayMs, t.delayMs * (errors - t.afterErrors));
}

/** Commands per fixed window, the window starting at the first command after the previous one ended. */
export class CommandRate {
  private start = 0;
  private count = 0;

  constructor(
    private readonly limit: ServerLimits['commandRate'],
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one command; false when it is over the limit. */
  take(): boolean {
    if (!this.limit) return true;
    const t = this.now();
    if (this.count === 0 || t - this.start >= this.limit.perMs) {
      this.start = t;
      this.count = 0;
    }
    return ++this.count <= this.limit.count;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
