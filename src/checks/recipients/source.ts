/**
 * What every recipient source answers, and the rule that combines them. A source says "found",
 * "unknown" (it is sure the address does not exist) or "unavailable" (it could not tell: directory
 * down, LAN server busy, file unreadable). Sources run in the configured order; the first "found"
 * accepts. The recipient is unknown only when every source said "unknown": one that could not tell
 * may have known it, so the answer is then "unavailable" (fail safe toward 4xx, CONVENTIONS.md 6).
 */
import type { LookupAddress } from './address.js';

export type Answer =
  | { readonly kind: 'found'; readonly detail: string }
  | { readonly kind: 'unknown'; readonly detail: string }
  | { readonly kind: 'unavailable'; readonly detail: string };

export interface Source {
  /** "static", "ldap" or "verify", with its position: "ldap#2". */
  readonly name: string;
  /**
   * `base` is the address without its subaddress (recipientDelimiter), when it has one; sources
   * that hold the users themselves (static, LDAP) accept it, verification asks for `address` only.
   */
  lookup(address: LookupAddress, base: LookupAddress | null, signal: AbortSignal): Promise<Answer>;
}

export async function lookupAll(sources: readonly Source[], address: LookupAddress, base: LookupAddress | null, signal: AbortSignal): Promise<Answer> {
  const unknown: string[] = [];
  const unavailable: string[] = [];
  for (const s of sources) {
    let a: Answer;
    try {
      a = await s.lookup(address, base, signal);
    } catch (e) {
      // A source that throws could not tell; it never makes a recipient unknown.
      a = { kind: 'unavailable', detail: e instanceof Error ? e.message : String(e) };
    }
    if (a.kind === 'found') return { kind: 'found', detail: `${s.name}: ${a.detail}` };
    (a.kind === 'unknown' ? unknown : unavailable).push(`${s.name}: ${a.detail}`);
  }
  if (unavailable.length > 0) return { kind: 'unavailable', detail: [...unavailable, ...unknown].join('; ') };
  return { kind: 'unknown', detail: unknown.join('; ') };
}

/** An error's message for a detail, without stack or cause. */
export function problem(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
