/**
 * SMTP AUTH credentials checked against a directory by a simple bind (platform/ldap.ts verifyBind)
 * as outbound.auth.ldap.userDn with the username put in (RFC 4514 §2.4 escaping, so a username
 * cannot change the DN's structure), and a chain of checkers (password file first, then LDAP).
 * Trusts: the directory's answer. Fails: never throws; a directory that cannot answer is
 * 'unavailable' (454 4.7.0), never 'invalid'.
 */
import { verifyBind, type LdapTarget } from '../platform/ldap.js';
import type { AuthVerdict, PasswordChecker } from './passwords.js';

/** RFC 4514 §2.4: escape the special characters, a leading "#" or space, a trailing space, NUL. */
export function escapeDnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

export class LdapBindChecker implements PasswordChecker {
  constructor(
    private readonly target: Omit<LdapTarget, 'bindDn' | 'password'>,
    private readonly userDn: string,
  ) {}

  async verify(username: string, password: string): Promise<AuthVerdict> {
    const dn = this.userDn.replaceAll('%u', escapeDnValue(username));
    try {
      return (await verifyBind(this.target, dn, password, AbortSignal.timeout(this.target.timeoutMs + 1000))) ? { kind: 'ok' } : { kind: 'invalid' };
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
