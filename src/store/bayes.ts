/**
 * The Bayes token store port (DESIGN.md §6): per token (a 64-bit hash of its text) how many learned
 * spam and ham messages contained it and when it was last learned; the totals; and the ids of the
 * messages learned, so that learning a message twice changes nothing and learning it as the other
 * class moves its tokens. Batch-shaped so that a network store (Redis) answers a whole message in
 * one round trip: one lookup per scanned message, one write per batch of learned messages.
 * Embedded: SQLite (src/store/sqlite/bayes.ts). A failure rejects with StoreError.
 */
import type { TokenCounts } from '../scan/bayes/classifier.js';

export type BayesClass = 'spam' | 'ham';

/**
 * A token's key: a 64-bit hash of its text as a signed integer (SQLite's INTEGER). The hash is
 * cyrb64 (two 32-bit multiply-xorshift lanes over the UTF-16 code units, cross-mixed at the end):
 * not cryptographic, but well spread, and about ten times cheaper than SHA-1 through node:crypto,
 * which showed up in `moat scan` profiles. A collision merges two tokens' counts; with 64 bits that
 * is about one pair in 10^19 draws. Changing this function makes every learned database unreadable.
 */
export type TokenHash = bigint;

export function tokenHash(token: string): TokenHash {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return BigInt.asIntN(64, (BigInt(h2 >>> 0) << 32n) | BigInt(h1 >>> 0));
}

export interface BayesTotals {
  /** Messages learned as spam and as ham. */
  readonly spam: number;
  readonly ham: number;
}

export interface BayesLookup {
  readonly totals: BayesTotals;
  /** Counts of the tokens asked for that the store knows (absent: never learned). */
  readonly counts: ReadonlyMap<TokenHash, TokenCounts>;
}

export interface LearnItem {
  /** Stable id of the message (learnedId() in src/scan/bayes), not its Message-ID alone. */
  readonly id: string;
  readonly as: BayesClass;
  readonly tokens: readonly TokenHash[];
}

/** learned: new; relearned: was the other class, moved; known: already learned as this class. */
export type LearnOutcome = 'learned' | 'relearned' | 'known';

export interface ExpiryPolicy {
  /** Tokens last learned before this time (ms since the epoch)... */
  readonly before: number;
  /** ...and seen in fewer learned messages than this are removed (SA's bayes_expiry of rare tokens). */
  readonly rareBelow: number;
  /** Then, while there are more tokens than this, the least recently learned go. */
  readonly maxTokens: number;
}

export interface BayesStore {
  lookup(tokens: readonly TokenHash[]): Promise<BayesLookup>;
  totals(): Promise<BayesTotals>;
  /** Learns a batch in one write; an outcome per item, in order. */
  learn(items: readonly LearnItem[], now: number): Promise<LearnOutcome[]>;
  /** Unlearns messages (their tokens must be the ones learned); true per item that was known. */
  forget(items: readonly { readonly id: string; readonly tokens: readonly TokenHash[] }[]): Promise<boolean[]>;
  /** The class a message was learned as, or null. */
  learnedAs(id: string): Promise<BayesClass | null>;
  /** Removes old rare tokens (and the oldest past maxTokens); how many were removed. */
  expire(policy: ExpiryPolicy): Promise<number>;
  close(): Promise<void>;
}
