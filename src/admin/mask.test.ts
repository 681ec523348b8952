import { describe, expect, it } from 'vitest';
import { MASK, maskConfig } from './mask.js';

describe('config masking for the console', () => {
  it('masks values of secret-named keys, URL credentials and DNSBL zones with a key', () => {
    const out = maskConfig({
      checks: { recipients: { sources: [{ type: 'ldap', url: 'ldap://10.0.0.1', bindDn: 'cn=moat', passwordFile: '/etc/moat/ldap.pw' }] } },
      admin: { tls: { cert: '/c.pem', key: '/k.pem' } },
      redis: 'redis://user:hunter2@10.0.0.2:6379',
      dnsbl: { lists: [{ site: 'abcdef0123.zen.dq.spamhaus.net', reply: 'zen.spamhaus.org' }] },
    }) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toContain('/etc/moat/ldap.pw');
    expect(text).not.toContain('/k.pem');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abcdef0123');
    expect(text).toContain('/c.pem');
    expect(text).toContain('cn=moat');
    expect(text).toContain(`redis://${MASK}@10.0.0.2:6379`);
  });
});
