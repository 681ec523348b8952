// Recipient validation against a real OpenLDAP slapd (test/harness/slapd.ts): hits by mail, alias
// and Active Directory style proxyAddresses, misses, filter injection, connection reuse, and every
// failure (slapd down, hung, wrong password, certificate) answered with a deferral, never a reject.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/harness/certs.js';
import { stopAll } from '../../../test/harness/process.js';
import { SLAPD_SERVICE_DN, SLAPD_SERVICE_PASSWORD, SLAPD_SUFFIX, startSlapd, type SlapdHandle, type SlapdUser } from '../../../test/harness/slapd.js';
import { makeScratchDir, removeAllScratchDirs } from '../../../test/harness/tmp.js';
import { rcptFindings, symbols } from '../../../test/support/check-run.js';
import { LdapDirectory } from '../../platform/ldap.js';
import type { Check } from '../../pipeline/types.js';
import { recipientsCheckSchema, recipientsDomainSchema } from './config.js';
import { recipientsCheck } from './index.js';

const USERS: SlapdUser[] = [
  { id: 'bob', mail: 'bob@example.test', aliases: ['robert@example.test'] },
  { id: 'carol', proxyAddresses: ['SMTP:carol@example.test', 'smtp:c.smith@example.test', 'X500:/o=Example/cn=carol'] },
];
const refuse = (): Promise<never> => Promise.reject(new Error('not used here'));

let dir: string;
let passwordFile: string;
const directories: LdapDirectory[] = [];

function check(directory: LdapDirectory, source: Record<string, unknown>, domain: Record<string, unknown> = {}): Check {
  const recipients = recipientsDomainSchema.parse({ sources: [{ type: 'ldap', baseDn: SLAPD_SUFFIX, bindDn: SLAPD_SERVICE_DN, passwordFile, timeout: '2s', ...source }], ...domain });
  return recipientsCheck(recipientsCheckSchema.parse({}), { 'example.test': { recipients } }, {
    state: { get: refuse, set: refuse, setIfAbsent: refuse, delete: refuse, increment: refuse, close: refuse },
    directory,
    prober: { probe: refuse },
    readText: refuse,
  });
}

function newDirectory(): LdapDirectory {
  const d = new LdapDirectory();
  directories.push(d);
  return d;
}

beforeAll(async () => {
  dir = await makeScratchDir('moat-ldap-test-');
  passwordFile = join(dir, 'ldap.password');
  await writeFile(passwordFile, `${SLAPD_SERVICE_PASSWORD}\n`, { mode: 0o600 });
});
afterAll(async () => {
  for (const d of directories) await d.close();
  await stopAll();
  await removeAllScratchDirs();
});

describe('LDAP source against slapd', () => {
  let ldap: SlapdHandle;
  let directory: LdapDirectory;
  beforeAll(async () => {
    ldap = await startSlapd({ users: USERS });
    directory = newDirectory();
  });

  it('finds users by mail (case-insensitively, by the directory) and rejects unknown ones', async () => {
    const c = check(directory, { url: ldap.url });
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    expect(await rcptFindings(c, 'Bob@Example.TEST')).toEqual([]);
    const miss = await rcptFindings(c, 'mallory@example.test');
    expect(symbols(miss)).toEqual(['RCPT_USER_UNKNOWN']);
    expect(miss[0]?.detail).toMatch(/no entry matched/);
  });

  it('finds OpenLDAP aliases (mailLocalAddress) with an alias filter', async () => {
    const c = check(directory, { url: ldap.url, filter: '(|(mail=%s)(mailLocalAddress=%s))' });
    expect(await rcptFindings(c, 'robert@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(check(directory, { url: ldap.url }), 'robert@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('finds Active Directory proxyAddresses, primary (SMTP:) and alias (smtp:), in any case', async () => {
    const c = check(directory, { url: ldap.url, filter: '(proxyAddresses=smtp:%s)' });
    expect(await rcptFindings(c, 'carol@example.test')).toEqual([]);
    expect(await rcptFindings(c, 'C.Smith@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'carol.x500@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('escapes the address: "*" and parentheses in a local part match nothing', async () => {
    const target = { url: ldap.url, bindDn: SLAPD_SERVICE_DN, password: { file: passwordFile }, timeoutMs: 2000, tls: { verify: true } };
    // The same filter unescaped would match every user of the domain.
    expect(await directory.exists(target, { baseDn: SLAPD_SUFFIX, scope: 'sub', filter: '(mail=*@example.test)' }, AbortSignal.timeout(5000))).toBe(true);
    const c = check(directory, { url: ldap.url });
    expect(symbols(await rcptFindings(c, '*@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    expect(symbols(await rcptFindings(c, '"*)(mail=*"@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('reuses one bound connection for many lookups', async () => {
    const d = newDirectory();
    const c = check(d, { url: ldap.url });
    const conns = await ldap.connections();
    const binds = await ldap.binds(SLAPD_SERVICE_DN);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => rcptFindings(c, i % 2 === 0 ? 'bob@example.test' : `nobody${i}@example.test`)));
    for (let i = 0; i < 12; i++) expect(symbols(answers[i] ?? []), `lookup ${i}`).toEqual(i % 2 === 0 ? [] : ['RCPT_USER_UNKNOWN']);
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    expect((await ldap.connections()) - conns).toBe(1);
    expect((await ldap.binds(SLAPD_SERVICE_DN)) - binds).toBe(1);
  });

  it('takes the password from an environment variable', async () => {
    process.env['MOAT_TEST_LDAP_PASSWORD'] = SLAPD_SERVICE_PASSWORD;
    const c = check(newDirectory(), { url: ldap.url, passwordFile: undefined, passwordEnv: 'MOAT_TEST_LDAP_PASSWORD' });
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    const unset = check(newDirectory(), { url: ldap.url, passwordFile: undefined, passwordEnv: 'MOAT_TEST_LDAP_UNSET' });
    const f = await rcptFindings(unset, 'bob@example.test');
    expect(symbols(f)).toEqual(['RCPT_UNVERIFIED']);
    expect(f[0]?.detail).toMatch(/MOAT_TEST_LDAP_UNSET is not set/);
  });

  it('a wrong bind password defers (never rejects), is not logged, and is not retried at once', async () => {
    const wrongFile = join(dir, 'wrong.password');
    await writeFile(wrongFile, 'not-the-password\n');
    const c = check(newDirectory(), { url: ldap.url, passwordFile: wrongFile });
    const binds = await ldap.binds(SLAPD_SERVICE_DN);
    const f = await rcptFindings(c, 'bob@example.test');
    expect(symbols(f)).toEqual(['RCPT_UNVERIFIED']);
    expect(f[0]?.detail).toMatch(/invalid credentials/);
    expect(f[0]?.detail).not.toMatch(/not-the-password/);
    expect(symbols(await rcptFindings(c, 'mallory@example.test'))).toEqual(['RCPT_UNVERIFIED']);
    // Held off: the second lookup did not bind again (no account lockout by a wrong password).
    expect((await ldap.binds(SLAPD_SERVICE_DN)) - binds).toBe(1);
  });

  it('a hung directory (SIGSTOP) defers within the timeout', async () => {
    const d = newDirectory();
    const c = check(d, { url: ldap.url, timeout: '1s' });
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    await ldap.freeze();
    try {
      const t0 = performance.now();
      const f = await rcptFindings(c, 'bob@example.test');
      const ms = performance.now() - t0;
      expect(symbols(f)).toEqual(['RCPT_UNVERIFIED']);
      expect(f[0]?.detail).toMatch(/TIMEOUT|no answer within|timed out/i);
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(5000);
    } finally {
      ldap.thaw();
    }
    // The broken connection was dropped; the next lookup opens a new one.
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
  });
});

describe('LDAP source when slapd goes away', () => {
  it('defers or accepts per the domain policy once slapd is stopped, and finds users again after a restart without searching unbound', async () => {
    const first = await startSlapd({ users: USERS });
    const d = newDirectory();
    const deferring = check(d, { url: first.url });
    const accepting = check(d, { url: first.url }, { onUnavailable: 'accept' });
    expect(await rcptFindings(deferring, 'bob@example.test')).toEqual([]);
    await first.stop();
    const deferred = await rcptFindings(deferring, 'bob@example.test');
    expect(symbols(deferred)).toEqual(['RCPT_UNVERIFIED']);
    expect(deferred[0]?.transient).toBe(true);
    expect(symbols(await rcptFindings(deferring, 'mallory@example.test'))).toEqual(['RCPT_UNVERIFIED']);
    expect(symbols(await rcptFindings(accepting, 'mallory@example.test'))).toEqual(['RCPT_UNVERIFIED_ACCEPTED']);
    // A new server on the same port: the directory reconnects and binds before it searches.
    const second = await startSlapd({ users: USERS, port: first.port });
    try {
      expect(await rcptFindings(deferring, 'bob@example.test')).toEqual([]);
      expect(symbols(await rcptFindings(deferring, 'mallory@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
      expect(await second.binds(SLAPD_SERVICE_DN)).toBeGreaterThanOrEqual(1);
    } finally {
      await second.stop();
    }
  });
});

describe('LDAP source over ldaps://', () => {
  it('verifies the directory certificate against the configured CA, and defers when it cannot', async () => {
    const cert = await makeSelfSignedCert({ commonName: 'ldap.example.test' });
    const ldap = await startSlapd({ users: USERS, tls: cert });
    try {
      expect(ldap.url).toMatch(/^ldaps:/);
      const d = newDirectory();
      expect(await rcptFindings(check(d, { url: ldap.url, tls: { ca: cert.certPath, servername: 'ldap.example.test' } }), 'bob@example.test')).toEqual([]);
      expect(await rcptFindings(check(d, { url: ldap.url, tls: { ca: cert.certPath } }), 'bob@example.test')).toEqual([]);
      const untrusted = await rcptFindings(check(d, { url: ldap.url }), 'bob@example.test');
      expect(symbols(untrusted)).toEqual(['RCPT_UNVERIFIED']);
      const wrongName = await rcptFindings(check(d, { url: ldap.url, tls: { ca: cert.certPath, servername: 'other.example.test' } }), 'bob@example.test');
      expect(symbols(wrongName)).toEqual(['RCPT_UNVERIFIED']);
    } finally {
      await ldap.stop();
    }
  });
});
