/**
 * Which sender addresses an authenticated account owns (Postfix's smtpd_sender_login_maps). An
 * account owns the union of: its own name when that is an address (the default when nothing is
 * configured), the addresses its credential store gave at AUTH (the LDAP entry's mail and
 * proxyAddresses), and what the map file (outbound.senderLogin.map) gives it. The map has lines
 * "KEY OWNER[,OWNER...]": KEY an address or "@domain" (every address of exactly that domain, not
 * its subdomains), owners separated by commas and/or white space, "#" comment lines. As in
 * Postfix, an address that has a line of its own is decided by that line alone: its "@domain" line
 * does not apply to it. A key listed twice has the owners of both lines.
 * Comparison: local parts case-insensitively (as Postfix and Exchange; a quoted local part equals
 * its unquoted text, RFC 5321 §4.1.2), domains as lower-case A-labels, account names
 * case-insensitively (Postfix compares login names with strcasecmp).
 * Trusts: the map file (the operator's). Fails: parseSenderLoginMap throws on the first line that
 * is not "ADDRESS-or-@DOMAIN OWNERS", naming the line number only.
 */
import { parseMailbox, type Mailbox } from '../../smtp/address.js';
import { entryKey, keyOf, unquoteLocal } from '../recipients/address.js';

const RULES = { caseSensitive: false } as const;

export interface SenderLoginMap {
  /** Comparison key ("local@domain" or "@domain") → lower-case account names. */
  readonly owners: ReadonlyMap<string, ReadonlySet<string>>;
}

export const EMPTY_MAP: SenderLoginMap = { owners: new Map() };

export function parseSenderLoginMap(text: string): SenderLoginMap {
  const owners = new Map<string, Set<string>>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [key, ...rest] = line.split(/[\s,]+/).filter((x) => x !== '');
    const k = key === undefined ? null : entryKey(key, RULES);
    if (k === null || rest.length === 0) throw new Error(`line ${i + 1}: not "ADDRESS-or-@DOMAIN  ACCOUNT[,ACCOUNT...]"`);
    const set = owners.get(k) ?? new Set<string>();
    for (const o of rest) set.add(o.toLowerCase());
    owners.set(k, set);
  });
  return { owners };
}

/** The comparison key of a mailbox. */
export function mailboxKey(m: Mailbox): string {
  return keyOf(unquoteLocal(m.local), m.domain, RULES);
}

/** The comparison key of an address written as text (a From: mailbox, a directory value); null when it is not an address. */
export function addressKey(text: string): string | null {
  if (text.startsWith('@')) return null;
  const m = parseMailbox(text);
  return m.ok && !m.value.literal ? mailboxKey(m.value) : null;
}

export interface Login {
  readonly account: string;
  /** From the credential store at AUTH (LDAP), as read. */
  readonly addresses: readonly string[];
}

/** Owned without the map: the account's own name, or one of its directory addresses. */
export function ownsDirectly(login: Login, key: string): boolean {
  return addressKey(login.account) === key || login.addresses.some((a) => addressKey(a) === key);
}

/** Owned through the map: the address's own line, else its domain's line, names the account. */
export function ownsByMap(map: SenderLoginMap, account: string, key: string): boolean {
  const owners = map.owners.get(key) ?? map.owners.get(`@${key.slice(key.lastIndexOf('@') + 1)}`);
  return owners?.has(account.toLowerCase()) ?? false;
}
