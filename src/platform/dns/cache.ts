/**
 * The answer cache: positive and negative answers keyed by (lower-cased name, type), each kept until
 * its absolute expiry time on the injected clock. One Map row per name holds a slot per type, so a
 * hit is one Map lookup by the caller's own name string (no key to build), a clock read and one
 * small answer object. Bounded: past maxEntries answers, rows go in insertion order, except that a
 * row used since it was last looked at gets a second chance (moved to the end): LRU-ish without
 * reordering the Map on every hit.
 * Trusts: the clock to be monotonic enough (a clock jumping back only keeps entries longer, up to
 * their clamped TTL). Fails: never; errors are not cached (the resolver never stores them).
 */
import type { Clock } from '../clock.js';
import type { DnsAnswer, RecordType } from './types.js';

/** `secure` is kept beside the answer: a cached answer is as secure as the one that came in. */
export type Stored =
  | { readonly kind: 'ok'; readonly records: unknown[]; readonly secure?: true }
  | { readonly kind: 'none'; readonly reason: 'nxdomain' | 'nodata'; readonly secure?: true };

interface Slot {
  readonly value: Stored;
  /** Milliseconds on the clock. */
  readonly expiresAt: number;
}

/** One name's answers; a fixed shape so that the slot access stays cheap. */
class Row {
  A: Slot | undefined = undefined;
  AAAA: Slot | undefined = undefined;
  MX: Slot | undefined = undefined;
  TXT: Slot | undefined = undefined;
  PTR: Slot | undefined = undefined;
  NS: Slot | undefined = undefined;
  CNAME: Slot | undefined = undefined;
  SOA: Slot | undefined = undefined;
  TLSA: Slot | undefined = undefined;
  slots = 0;
  used = false;
}

export class AnswerCache {
  readonly #rows = new Map<string, Row>();
  readonly #max: number;
  readonly #clock: Clock;
  #count = 0;

  constructor(maxEntries: number, clock: Clock) {
    this.#max = maxEntries;
    this.#clock = clock;
  }

  /** Answers held. */
  get size(): number {
    return this.#count;
  }

  /** The cached answer with its TTL counted down, or undefined (absent or expired). `name` normalized. */
  get<R>(name: string, type: RecordType): DnsAnswer<R> | undefined {
    const row = this.#rows.get(name);
    const slot = row?.[type];
    if (row === undefined || slot === undefined) return undefined;
    const left = slot.expiresAt - this.#clock.now();
    if (left <= 0) {
      this.#clear(name, row, type);
      return undefined;
    }
    row.used = true;
    // Rounded up: a live entry never shows 0, and a fresh one shows the TTL it came with.
    const ttl = Math.ceil(left / 1000);
    const v = slot.value;
    const secure = v.secure === true ? { secure: true } : {};
    return (v.kind === 'ok' ? { kind: 'ok', records: v.records, ttl, ...secure } : { kind: 'none', reason: v.reason, ttl, ...secure }) as DnsAnswer<R>;
  }

  /** Keeps an answer for `ttlSeconds` (already clamped); 0 or less stores nothing. */
  set(name: string, type: RecordType, value: Stored, ttlSeconds: number): void {
    if (ttlSeconds <= 0 || this.#max === 0) return;
    let row = this.#rows.get(name);
    if (row === undefined) {
      row = new Row();
      this.#rows.set(name, row);
    }
    if (row[type] === undefined) {
      row.slots++;
      this.#count++;
    }
    row[type] = { value, expiresAt: this.#clock.now() + ttlSeconds * 1000 };
    this.#evict(row);
  }

  #clear(name: string, row: Row, type: RecordType): void {
    row[type] = undefined;
    row.slots--;
    this.#count--;
    if (row.slots === 0) this.#rows.delete(name);
  }

  /** Second-chance eviction down to maxEntries; never evicts `keep` (the row just written). */
  #evict(keep: Row): void {
    let budget = 2 * this.#rows.size;
    while (this.#count > this.#max && budget-- > 0) {
      const oldest = this.#rows.entries().next();
      if (oldest.done === true) return;
      const [name, row] = oldest.value;
      this.#rows.delete(name);
      if (row === keep || row.used) {
        row.used = false;
        this.#rows.set(name, row);
      } else {
        this.#count -= row.slots;
      }
    }
  }
}
