/**
 * Deadlines as explicit timers. XXX: not AbortSignal.timeout() inside AbortSignal.any(): Node 20 may
 * garbage-collect such a timeout signal before it fires (nodejs/node#57736), which let a client
 * trickling DATA outlive its deadline and a stopped scanner hold a message for the caller's whole
 * budget instead of the scanner's; and any() on a long-lived signal for every command kept piling
 * dependants on it. A Deadline holds its timer strongly and unhooks itself on clear() or abort.
 */

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
