/**
 * Pacing of one session: deadlines, the tarpit after errors (as Postfix's smtpd_error_sleep_time
 * with its soft and hard error limits) and the command rate limit. A sleeping session reads nothing
 * (its input is bounded and the socket paused past the high-water mark) and wakes at once when its
 * deadline or shutdown aborts.
 * Deadlines and sleeps are platform/deadline.ts (explicit timers, not AbortSignal.timeout()).
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
