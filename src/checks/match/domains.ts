/**
 * Domain lists for the envelope checks: "example.com" is that domain only, ".example.com" any of
 * its subdomains (not example.com itself: list both to cover both), as in Postfix access tables
 * with parent_domain_matches_subdomains off. Entries are canonicalised like envelope domains
 * (lower case, IDN to A-labels, src/smtp/address.ts), so "Bücher.Example" matches mail for
 * xn--bcher-kva.example. Trusts: the address parser. Fails: a bad entry is a schema error.
 */
import { z } from 'zod';
import { parseDomain } from '../../smtp/address.js';

function canonical(entry: string): string | null {
  const sub = entry.startsWith('.');
  const d = parseDomain(sub ? entry.slice(1) : entry);
  if (!d || d.startsWith('[')) return null;
  return sub ? `.${d}` : d;
}

export class DomainList {
  private readonly exact = new Set<string>();
  private readonly parents: string[] = [];

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const c = canonical(e);
      if (c === null) throw new Error(`not a domain: ${e}`);
      if (c.startsWith('.')) this.parents.push(c);
      else this.exact.add(c);
    }
  }

  get size(): number {
    return this.exact.size + this.parents.length;
  }

  /** Whether a canonical domain (Mailbox.domain) is listed. */
  matches(domain: string): boolean {
    return this.exact.has(domain) || this.parents.some((p) => domain.endsWith(p));
  }
}

export const domainList = (description: string) =>
  z
    .array(
      z.string().refine((s) => canonical(s) !== null, {
        message: 'expected a domain ("example.com") or ".example.com" for its subdomains',
      }),
    )
    .default([])
    .describe(description);
