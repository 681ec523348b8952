/**
 * SMTP AUTH credentials checked against a directory by a simple bind (platform/ldap.ts verifyBind)
 * as outbound.auth.ldap.userDn with the username put in (RFC 4514 §2.4 escaping, so a username
 * cannot change the DN's structure), and a chain of checkers (password file first, then LDAP).
 * With the sender-login check on, a successful bind also reads the addresses the user's own entry
 * holds (mail, proxyAddresses...: outbound.auth.ldap.addressAttributes), with the user's bind.
 * Trusts: the directory's answer. Fails: never throws; a directory that cannot answer (or cannot
 * be read after the bind) is 'unavailable' (454 4.7.0), never 'invalid'.
 */
import { escapeFilterValue } from '../checks/recipients/address.js';
import { verifyBind, type LdapTarget, type OwnEntry } from '../platform/ldap.js';
import type { AuthVerdict, PasswordChecker } from './passwords.js';

/** RFC 4514 §2.4: escape the special characters, a leading "#" or space, a trailing space, NUL. */
export function escapeDnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

/**
 * The e-mail addresses among directory values: Active Directory's proxyAddresses are "TYPE:value"
 * ("SMTP:" the primary address, "smtp:" an alias; "X500:", "SIP:"... are not mail addresses and
 * are dropped); a value without a type prefix (mail, mailLocalAddress) is an address as it is.
 */
export function mailAddresses(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const typed = /^([A-Za-z0-9]+):(.*)$/s.exec(v.trim());
    const address = typed ? (typed[1]?.toLowerCase() === 'smtp' ? (typed[2] ?? '') : '') : v.trim();
    if (address.includes('@')) out.push(address);
  }
  return out;
}

export interface OwnAddresses {
  /** Attributes of the user's entry that hold its addresses; empty: none are read. */
  readonly attributes: readonly string[];
  /** For a DN that is not a DN (Active Directory's "%u" UPN bind): where the entry is searched, %u the username (RFC 4515 escaped). */
  readonly search?: { readonly baseDn: string; readonly filter: string } | undefined;
}

export class LdapBindChecker implements PasswordChecker {
  constructor(
    private readonly target: Omit<LdapTarget, 'bindDn' | 'password'>,
    private readonly userDn: string,
    private readonly own: OwnAddresses = { attributes: [] },
  ) {}

  async verify(username: string, password: string): Promise<AuthVerdict> {
    const dn = this.userDn.replaceAll('%u', escapeDnValue(username));
    const s = this.own.search;
    const entry: OwnEntry | null =
      this.own.attributes.length === 0 ? null : { attributes: this.own.attributes, ...(s ? { search: { baseDn: s.baseDn, filter: s.filter.replaceAll('%u', escapeFilterValue(username)) } } : {}) };
    try {
      const values = await verifyBind(this.target, dn, password, AbortSignal.timeout(this.target.timeoutMs + 1000), entry);
      if (values === null) return { kind: 'invalid' };
      return entry === null ? { kind: 'ok' } : { kind: 'ok', addresses: mailAddresses(values) };
    } catch (e) {
      return { kind: 'unavailable', reason: `LDAP bind: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
}

/** The first checker that accepts wins; 'unavailable' when none did and one could not answer. */
export class CheckerChain implements PasswordChecker {
  constructor(private readonly checkers: readonly PasswordChecker[]) {}

  async verify(username: string, password: string): Promise<AuthVerdict> {
    let unavailable: AuthVerdict | null = null;
    for (const c of this.checkers) {
      const v = await c.verify(username, password);
      if (v.kind === 'ok') return v;
      if (v.kind === 'unavailable') unavailable = v;
    }
    return unavailable ?? { kind: 'invalid' };
  }
}
