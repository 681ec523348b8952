import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { checkFilterTemplate, parseLdapUrl } from './config.js';

const base = (recipients: unknown, extra: Record<string, unknown> = {}): unknown => ({
  hostname: 'mx.example.test',
  listen: [{ address: '127.0.0.1:2525' }],
  domains: { 'example.test': { relay: ['127.0.0.1:2526'], recipients } },
  dataDir: '/tmp/unused',
  ...extra,
});

function errors(raw: unknown): string[] {
  const r = validateConfig(raw);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('recipient validation config', () => {
  it('accepts every source type with defaults filled in', () => {
    const r = validateConfig(
      base({
        sources: [
          { type: 'static', addresses: ['bob@example.test', '@example.test'] },
          { type: 'ldap', url: 'ldaps://10.0.0.7', bindDn: 'cn=moat,dc=example,dc=test', passwordEnv: 'MOAT_LDAP_PASSWORD', baseDn: 'dc=example,dc=test' },
          { type: 'verify' },
        ],
      }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const rc = r.config.domains['example.test']?.recipients;
    expect(rc?.onUnavailable).toBe('defer');
    expect(rc?.caseSensitive).toBe(false);
    expect(rc?.sources[1]).toMatchObject({ filter: '(mail=%s)', scope: 'sub', timeout: 5000, tls: { verify: true } });
    expect(rc?.sources[2]).toMatchObject({ sender: '' });
    expect(r.config.checks.recipients).toMatchObject({ enabled: true, verify: { positiveTtl: 7 * 86_400_000, negativeTtl: 3 * 3_600_000, maxConcurrent: 8 } });
  });

  it('keeps domains without recipients valid (every local part accepted)', () => {
    expect(errors({ ...(base(undefined) as object), domains: { 'example.test': { relay: ['127.0.0.1:2526'] } } })).toEqual([]);
  });

  it('names the path of a static entry outside its domain', () => {
    expect(errors(base({ sources: [{ type: 'static', addresses: ['bob@example.test', 'eve@other.test'] }] }))).toEqual([
      'domains.example.test.recipients.sources[0].addresses[1]: not an address of example.test',
    ]);
  });

  it('refuses LDAP sources with a host name, a half-given password or a bad filter', () => {
    const ldap = (o: Record<string, unknown>): string[] => errors(base({ sources: [{ type: 'ldap', url: 'ldap://10.0.0.7', baseDn: 'dc=x', ...o }] }));
    expect(ldap({ url: 'ldap://dc1.corp.example' }).join()).toMatch(/sources\[0\]\.url: expected "ldap:\/\/IP/);
    expect(ldap({ bindDn: 'cn=moat' }).join()).toMatch(/exactly one of passwordFile and passwordEnv/);
    expect(ldap({ passwordEnv: 'X' }).join()).toMatch(/without bindDn/);
    expect(ldap({ filter: '(mail=%x)' }).join()).toMatch(/sources\[0\]\.filter: only %s/);
    expect(ldap({ filter: 'mail=%s' }).join()).toMatch(/in parentheses/);
  });

  it('will not let the policy turn a lookup failure into a reject', () => {
    expect(errors(base({ sources: [{ type: 'verify' }] }, { policy: { symbols: { RCPT_UNVERIFIED: { action: 'reject' } } } }))).toEqual([
      'policy.symbols.RCPT_UNVERIFIED: this symbol cannot be changed',
    ]);
    expect(errors(base({ sources: [{ type: 'verify' }] }, { policy: { symbols: { RCPT_USER_UNKNOWN: { action: 'none', score: 5 } } } }))).toEqual([]);
  });

  it('parses LDAP URLs and filter templates', () => {
    expect(parseLdapUrl('ldap://127.0.0.1')).toEqual({ secure: false, host: '127.0.0.1', port: 389 });
    expect(parseLdapUrl('ldaps://[::1]:3269/')).toEqual({ secure: true, host: '::1', port: 3269 });
    expect(parseLdapUrl('ldap://10.0.0.1:99999')).toBeNull();
    expect(checkFilterTemplate('(|(mail=%s)(uid=%u))')).toBeNull();
    expect(checkFilterTemplate('(o=%d)')).toMatch(/must use %s/);
    expect(checkFilterTemplate('(|(mail=%s)')).toMatch(/unbalanced/);
    expect(checkFilterTemplate('(mail=%s)(uid=%u)')).toMatch(/one LDAP filter/);
  });
});
