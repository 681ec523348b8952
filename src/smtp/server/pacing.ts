/**
 * Pacing of one session: deadlines, the tarpit after errors (as Postfix's smtpd_error_sleep_time
 * with its soft and hard error limits) and the command rate limit. A sleeping session reads nothing
 * (its input is bounded and the socket paused past the high-water mark) and wakes at once when its
 * deadline or shutdown aborts.
 * XXX: deadlines are explicit timers, not AbortSignal.timeout() inside AbortSignal.any(): Node 20
 * may garbage-collect such a timeout signal before it fires (nodejs/node#57736), which let a client
 * trickling DATA outlive its deadline; and any() on the session-long signal for every command kept
 * piling dependants on it. A Deadline holds its timer strongly and unhooks itself on clear().
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

export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and unhooks from the parents; call when the guarded wait is over. */
  clear(): void;
}

/** A signal that aborts after `ms` (a TimeoutError; null: never by itself) or when a parent aborts (its reason). */
export function deadline(ms: number | null, parents: readonly AbortSignal[] = []): Deadline {
  const c = new AbortController();
  const hooked: AbortSignal[] = [];
  const onParent = (e: Event): void => c.abort((e.target as AbortSignal).reason);
  const timer = ms === null ? null : setTimeout(() => c.abort(new DOMException('deadline passed', 'TimeoutError')), ms);
  const clear = (): void => {
    if (timer) clearTimeout(timer);
    for (const p of hooked.splice(0)) p.removeEventListener('abort', onParent);
  };
  for (const p of parents) {
    if (p.aborted) {
      c.abort(p.reason);
      break;
    }
    p.addEventListener('abort', onParent, { once: true });
    hooked.push(p);
  }
  if (c.signal.aborted) clear();
  else c.signal.addEventListener('abort', clear, { once: true });
  return { signal: c.signal, clear };
}
