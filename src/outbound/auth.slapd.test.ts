/**
 * SMTP AUTH credential stores: the scrypt password file (lines from hashLine, constant work for
 * unknown users, a bad file is 'unavailable'), and LDAP simple binds against a real slapd (valid,
 * wrong password, unknown user, an empty password never binds anonymously, a DN-special username
 * cannot change the DN, the bound entry's mail addresses read for the sender-login check — by its
 * DN or by a search —, a stopped directory is 'unavailable' — never 'invalid').
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, SLAPD_SUFFIX, type SlapdHandle } from '../../test/harness/slapd.js';
import { stopAll } from '../../test/harness/process.js';
import { CheckerChain, escapeDnValue, LdapBindChecker, mailAddresses } from './ldap-auth.js';
import { hashLine, parsePasswordFile, PasswordFile } from './passwords.js';

describe('password file', () => {
  it('accepts the right password, refuses a wrong one and an unknown user', async () => {
    const text = `# accounts\n\n${await hashLine('alice@example.test', 's3cret pass')}\n${await hashLine('bob', 'other')}\n`;
    const f = new PasswordFile('/virtual', () => Promise.resolve(text));
    expect(await f.verify('alice@example.test', 's3cret pass')).toEqual({ kind: 'ok' });
    expect(await f.verify('alice@example.test', 's3cret pasS')).toEqual({ kind: 'invalid' });
    expect(await f.verify('carol', 's3cret pass')).toEqual({ kind: 'invalid' });
    expect(await f.verify('ALICE@example.test', 's3cret pass')).toEqual({ kind: 'invalid' });
  });

  it('makes every lookup unavailable when the file is missing or has a bad line (never a lockout or a free pass)', async () => {
    const missing = new PasswordFile('/nonexistent/passwords', () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' })));
    expect(await missing.verify('alice', 'x')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/ENOENT/) });
    const bad = new PasswordFile('/virtual', () => Promise.resolve('alice:plaintext\n'));
    expect(await bad.verify('alice', 'plaintext')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/line 1/) });
    expect(() => parsePasswordFile('bob:$scrypt$ln=4,r=8,p=1$AAAA$AAAA\n')).toThrow(/line 1/);
  });
});

describe('LDAP bind', () => {
  let slapd: SlapdHandle;
  const target = () => ({ url: slapd.url, timeoutMs: 3000, tls: { verify: true } });

  beforeAll(async () => {
    slapd = await startSlapd({
      users: [
        { id: 'alice', mail: 'alice@example.test', password: 'ldap pass' },
        { id: 'carol', mail: 'carol@example.test', password: 'carol pass', aliases: ['sales@example.test'], proxyAddresses: ['SMTP:Carol.Smith@example.test', 'smtp:cs@example.test', 'X500:/o=Example/cn=carol'] },
      ],
    });
  });
  afterAll(async () => {
    await stopAll();
  });

  it('accepts a valid bind and refuses a wrong password or an unknown user', async () => {
    const c = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`);
    expect(await c.verify('alice', 'ldap pass')).toEqual({ kind: 'ok' });
    expect(await c.verify('alice', 'wrong')).toEqual({ kind: 'invalid' });
    expect(await c.verify('nobody', 'ldap pass')).toEqual({ kind: 'invalid' });
    expect(await slapd.binds(`uid=alice,ou=people,${SLAPD_SUFFIX}`)).toBeGreaterThanOrEqual(2);
  });

  it('never binds with an empty password and escapes DN-special characters in the username', async () => {
    const c = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`);
    const before = await slapd.binds();
    expect(await c.verify('alice', '')).toEqual({ kind: 'invalid' });
    expect(await slapd.binds()).toBe(before);
    expect(escapeDnValue('a,uid=x+y')).toBe('a\\,uid\\=x\\+y');
    expect(await c.verify('alice,ou=people', 'ldap pass')).toEqual({ kind: 'invalid' });
  });

  it('chains the password file and the directory: the first that accepts wins', async () => {
    const file = new PasswordFile('/virtual', async () => `${await hashLine('bob', 'file pass')}\n`);
    const chain = new CheckerChain([file, new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`)]);
    expect(await chain.verify('bob', 'file pass')).toEqual({ kind: 'ok' });
    expect(await chain.verify('alice', 'ldap pass')).toEqual({ kind: 'ok' });
    expect(await chain.verify('alice', 'nope')).toEqual({ kind: 'invalid' });
  });

  it('reads the bound entry\'s addresses with the user\'s own bind: mail and the smtp: proxyAddresses, not X500', async () => {
    const own = { attributes: ['mail', 'proxyAddresses'] };
    const c = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`, own);
    expect(await c.verify('carol', 'carol pass')).toEqual({ kind: 'ok', addresses: ['carol@example.test', 'Carol.Smith@example.test', 'cs@example.test'] });
    expect(await c.verify('carol', 'wrong')).toEqual({ kind: 'invalid' });
    // An entry without the attributes owns nothing from the directory.
    const aliases = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`, { attributes: ['mailLocalAddress'] });
    expect(await aliases.verify('carol', 'carol pass')).toEqual({ kind: 'ok', addresses: ['sales@example.test'] });
    expect(await aliases.verify('alice', 'ldap pass')).toEqual({ kind: 'ok', addresses: [] });
    expect(mailAddresses(['SIP:carol@example.test', ' mail@example.test ', 'smtp:', 'x'])).toEqual(['mail@example.test']);
  });

  it('finds the entry by a search when the bind name is not a DN (addressSearch), the username escaped per RFC 4515', async () => {
    // The bind is as the DN; the entry is found by (uid=%u), as Active Directory's (userPrincipalName=%u).
    const c = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`, { attributes: ['mail'], search: { baseDn: SLAPD_SUFFIX, filter: '(uid=%u)' } });
    expect(await c.verify('carol', 'carol pass')).toEqual({ kind: 'ok', addresses: ['carol@example.test'] });
  });

  it('answers unavailable, not invalid, when the directory is down', async () => {
    await slapd.stop();
    const c = new LdapBindChecker(target(), `uid=%u,ou=people,${SLAPD_SUFFIX}`);
    expect(await c.verify('alice', 'ldap pass')).toMatchObject({ kind: 'unavailable' });
  });
});
