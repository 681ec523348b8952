/**
 * The state store port (DESIGN.md §6): small, fast, shared state that checks learn and consult —
 * greylist triplets, rate-limit counters, clients that passed the pregreet test, cached recipient
 * verifications. Embedded: SQLite (src/store/sqlite); several nodes: Redis. Keys are namespaced by
 * the caller ("greylist:…"); values are short strings; everything expires. Operations are async so
 * that a network store fits the same interface; a failure rejects (the check then fails toward 4xx).
 */
export interface StateStore {
  /** The value of a live key, or null. */
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only if it is absent (or expired); true when it did. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Adds `by` to a counter (created at 0 if absent) that expires `ttlMs` after its creation; the new value. */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  readonly code = 'STORE_ERROR';
  readonly transient = true;
}
