/**
 * Recipients known to a directory (Active Directory, OpenLDAP): an address exists when the
 * configured filter, filled with the escaped address (RFC 4515 §3), matches an entry below baseDn.
 * AD: "(proxyAddresses=smtp:%s)" — the attribute compares case-insensitively, so "SMTP:" (primary)
 * and "smtp:" (alias) values both match. OpenLDAP: "(mail=%s)", with aliases in mailLocalAddress
 * (misc.schema) or mailAlternateAddress. The directory's matching rules decide case, not us.
 * Trusts: the Directory port for the answer; the filter template was checked by the config schema.
 * Fails toward 4xx: any directory error (down, slow, refused bind, missing password) is
 * "unavailable", never "unknown"; the detail says which, without the password.
 */
import type { Directory, LdapTarget } from '../../platform/ldap.js';
import type { LdapSourceConfig } from './config.js';
import { fillFilter, type LookupAddress } from './address.js';
import { problem, type Answer, type Source } from './source.js';

export function ldapTarget(c: LdapSourceConfig): LdapTarget {
  return {
    url: c.url,
    bindDn: c.bindDn ?? null,
    password: c.passwordFile !== undefined ? { file: c.passwordFile } : c.passwordEnv !== undefined ? { env: c.passwordEnv } : null,
    timeoutMs: c.timeout,
    tls: { verify: c.tls.verify, ca: c.tls.ca, servername: c.tls.servername },
  };
}

export class LdapSource implements Source {
  private readonly target: LdapTarget;

  constructor(
    readonly name: string,
    private readonly config: LdapSourceConfig,
    private readonly directory: Directory,
  ) {
    this.target = ldapTarget(config);
  }

  async lookup(a: LookupAddress, base: LookupAddress | null, signal: AbortSignal): Promise<Answer> {
    for (const candidate of base ? [a, base] : [a]) {
      const filter = fillFilter(this.config.filter, candidate);
      try {
        if (await this.directory.exists(this.target, { baseDn: this.config.baseDn, scope: this.config.scope, filter }, signal)) {
          return { kind: 'found', detail: `${filter} matched` };
        }
      } catch (e) {
        return { kind: 'unavailable', detail: `${this.config.url}: ${problem(e)}` };
      }
    }
    return { kind: 'unknown', detail: 'no entry matched' };
  }
}
