/**
 * The answer cache: positive and negative answers keyed by (type, lower-cased name), each kept until
 * its absolute expiry time on the injected clock. Bounded: past maxEntries the least recently used
 * entry goes (a Map keeps insertion order; a hit moves its entry to the end). A hit is one Map
 * lookup, a clock read and one small answer object.
 * Trusts: the clock to be monotonic enough (a clock jumping back only keeps entries longer, up to
 * their clamped TTL). Fails: never; errors are not cached (the resolver never stores them).
 */
import type { Clock } from '../clock.js';
import type { DnsAnswer } from './types.js';

type Stored = { readonly kind: 'ok'; readonly records: unknown[] } | { readonly kind: 'none'; readonly reason: 'nxdomain' | 'nodata' };

interface Entry {
  readonly value: Stored;
  /** Milliseconds on the clock. */
  readonly expiresAt: number;
}

export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #clock: Clock;

  constructor(maxEntries: number, clock: Clock) {
    this.#max = maxEntries;
    this.#clock = clock;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached answer with its TTL counted down, or undefined (absent or expired). */
  get<R>(key: string): DnsAnswer<R> | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    const left = e.expiresAt - this.#clock.now();
    this.#entries.delete(key);
    if (left <= 0) return undefined;
    this.#entries.set(key, e);
    // Rounded up: a live entry never shows 0, and a fresh one shows the TTL it came with.
    const ttl = Math.ceil(left / 1000);
    const v = e.value;
    return (v.kind === 'ok' ? { kind: 'ok', records: v.records, ttl } : { kind: 'none', reason: v.reason, ttl }) as DnsAnswer<R>;
  }

  /** Keeps an answer for `ttlSeconds` (already clamped); 0 or less stores nothing. */
  set(key: string, value: Stored, ttlSeconds: number): void {
    if (ttlSeconds <= 0 || this.#max === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#clock.now() + ttlSeconds * 1000 });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }
}

/** The cache key: type first so that the name needs no escaping. */
export function cacheKey(type: string, name: string): string {
  return `${type}:${name}`;
}
