/** The credential store of SMTP AUTH from outbound.auth: the password file, then LDAP binds; null when neither is set. */
import type { OutboundConfig } from './config.js';
import { CheckerChain, LdapBindChecker } from './ldap-auth.js';
import { PasswordFile, type PasswordChecker } from './passwords.js';

export function passwordCheckers(o: OutboundConfig, readText: (path: string) => Promise<string>): PasswordChecker | null {
  const list: PasswordChecker[] = [];
  if (o.auth.passwordFile !== undefined) list.push(new PasswordFile(o.auth.passwordFile, readText));
  const l = o.auth.ldap;
  // The entry's addresses are read only when the sender-login check will use them.
  const own = { attributes: o.senderLogin.enabled ? l?.addressAttributes ?? [] : [], search: l?.addressSearch };
  if (l) list.push(new LdapBindChecker({ url: l.url, timeoutMs: l.timeout, tls: l.tls }, l.userDn, own));
  return list.length === 0 ? null : list.length === 1 ? (list[0] as PasswordChecker) : new CheckerChain(list);
}
