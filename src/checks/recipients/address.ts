/**
 * How recipient addresses are compared and written into lookups. RFC 5321 §2.4: the local part is
 * case-sensitive in theory, but a server "SHOULD" avoid depending on it and Postfix and Exchange
 * compare case-insensitively, so folding is the default (`caseSensitive: false`); the domain always
 * compares case-insensitively (it is already a lower-case A-label here). A quoted local part means
 * the same as its unquoted text (RFC 5321 §4.1.2: "bob" and "\"bob\"" are one mailbox).
 * LDAP filter values are escaped per RFC 4515 §3, so an address can never change a filter's shape.
 * Trusts: the Mailbox came from the strict parser in src/smtp/address.ts.
 */
import { formatMailbox, parseMailbox, type Mailbox } from '../../smtp/address.js';

export interface LookupAddress {
  /** The address as the client wrote it (the form a verification probe sends). */
  readonly asSent: string;
  /** The local part without quoting, case as written. */
  readonly local: string;
  /** Lower-case A-label domain. */
  readonly domain: string;
  /** Comparison key: local part (folded unless case-sensitive) "@" domain. */
  readonly key: string;
}

export interface AddressRules {
  readonly caseSensitive: boolean;
  readonly recipientDelimiter?: string | undefined;
}

/** The text of a local part: quotes removed and quoted pairs resolved (RFC 5321 §4.1.2). */
export function unquoteLocal(local: string): string {
  if (!local.startsWith('"')) return local;
  return local.slice(1, -1).replace(/\\(.)/gs, '$1');
}

export function keyOf(local: string, domain: string, rules: AddressRules): string {
  return `${rules.caseSensitive ? local : local.toLowerCase()}@${domain.toLowerCase()}`;
}

export function lookupAddress(to: Mailbox, rules: AddressRules): LookupAddress {
  const local = unquoteLocal(to.local);
  return { asSent: formatMailbox(to), local, domain: to.domain, key: keyOf(local, to.domain, rules) };
}

/**
 * The address without its subaddress ("bob+news" → "bob") when a delimiter is configured and
 * present after the first character; null otherwise.
 */
export function baseAddress(a: LookupAddress, rules: AddressRules): LookupAddress | null {
  const d = rules.recipientDelimiter;
  if (d === undefined) return null;
  const at = a.local.indexOf(d);
  if (at <= 0) return null;
  const local = a.local.slice(0, at);
  return { asSent: `${local}@${a.domain}`, local, domain: a.domain, key: keyOf(local, a.domain, rules) };
}

/** RFC 5321 §4.5.1: every domain must accept "postmaster" (case-insensitive), whatever its sources say. */
export function isPostmaster(a: LookupAddress): boolean {
  return a.local.toLowerCase() === 'postmaster';
}

/**
 * A static list entry as a comparison key: "user@domain" or "@domain" (catch-all, returned as
 * "@domain"); null when it is not an address of `domain`'s syntax.
 */
export function entryKey(entry: string, rules: AddressRules): string | null {
  if (entry.startsWith('@')) {
    const m = parseMailbox(`postmaster${entry}`);
    return m.ok && !m.value.literal ? `@${m.value.domain}` : null;
  }
  const m = parseMailbox(entry);
  if (!m.ok || m.value.literal) return null;
  return keyOf(unquoteLocal(m.value.local), m.value.domain, rules);
}

/** The domain part of a key made by entryKey/keyOf. */
export function keyDomain(key: string): string {
  return key.slice(key.lastIndexOf('@') + 1);
}

/**
 * RFC 4515 §3: in an assertion value, "*", "(", ")", "\" and NUL must be written as "\" and two hex
 * digits. We also escape every other control character and non-ASCII octet (valid UTF-8 is
 * allowed raw, but escaping each octet is equally valid and leaves nothing to interpretation).
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x20 || byte > 0x7e || c === '*' || c === '(' || c === ')' || c === '\\' ? `\\${byte.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/** Fills a filter template (checked by the config schema): %s address, %u local part, %d domain, %% "%". */
export function fillFilter(template: string, a: LookupAddress): string {
  return template.replace(/%([sud%])/g, (_m, k: string) =>
    k === '%' ? '%' : escapeFilterValue(k === 's' ? `${a.local}@${a.domain}` : k === 'u' ? a.local : a.domain),
  );
}
