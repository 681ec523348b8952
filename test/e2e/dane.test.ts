/**
 * DANE (RFC 7672) through the real gateway: a validating unbound (test/harness/unbound.ts) serves
 * the zone dane.test, signed at test time, with MX, A and TLSA records made from certificates
 * generated at test time (TLSA data by the openssl CLI); the rest of "test." comes from dnsmasq,
 * unsigned. The MX hosts are aiosmtpd servers on loopback addresses, one port. The gateway asks
 * only unbound, with dns.dnssec: trusted. Proves: a matching DANE-EE 3 1 1 record gets the mail
 * over TLS; a mismatching record never gets it (a second MX with a matching record does; alone,
 * the message waits with 4.7.5); a TLSA host without STARTTLS never gets it; a TLSA lookup that
 * is bogus (a CNAME into a zone anchored to the wrong key) leaves that host unused; DANE-TA 2 0 1
 * with a private CA delivers when the name matches and refuses when not; only unusable (PKIX)
 * records mean TLS without authentication; a secure TLSA denial and an unsigned domain are
 * delivered as before; a gateway whose resolver is not marked as validating ignores DANE.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { makeSelfSignedCert, makeTestCa, tlsaData } from '../harness/certs.js';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeAllScratchDirs } from '../harness/tmp.js';
import { startUnbound, type UnboundHandle } from '../harness/unbound.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const LAN_CLIENT = '127.0.0.10';
const IP = { ee: '127.0.0.61', mismatch: '127.0.0.62', backup: '127.0.0.63', notls: '127.0.0.64', plain: '127.0.0.65', ta: '127.0.0.66', taWrongName: '127.0.0.67', bogus: '127.0.0.68' };

describe('DANE', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let unbound: UnboundHandle;
  const mx: Record<keyof typeof IP, LanSmtpdHandle> = {} as Record<keyof typeof IP, LanSmtpdHandle>;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let plainGw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    const port = await freePort(IP.ee);
    const tlsa = (host: string, rdata: string): string => `_${port}._tcp.${host}. IN TLSA ${rdata}`;
    const eeCert = await makeSelfSignedCert({ commonName: 'not-the-mx-name.example' });
    const otherCert = await makeSelfSignedCert({ commonName: 'mx1.bad.dane.test' });
    const backupCert = await makeSelfSignedCert({ commonName: 'mx2.bad.dane.test' });
    const ca = await makeTestCa();
    const taLeaf = await ca.issue(['mx.ta.dane.test']);
    const taWrong = await ca.issue(['somewhere.else.test']);
    // DANE-TA: the server must send the trust anchor in its chain (RFC 7671 §5.2.2).
    const withCa = async (leaf: { certPath: string }, name: string): Promise<string> => {
      const path = join(dir, `${name}-chain.pem`);
      await writeFile(path, `${await readFile(leaf.certPath, 'utf8')}${await readFile(ca.caPath, 'utf8')}`);
      return path;
    };
    const caTlsa = `2 0 1 ${await tlsaData(ca.caPath, 0, 1)}`;
    dns = await startDnsmasq({ hosts: [{ name: 'mx.plain.test', addresses: [IP.plain] }], mx: [{ domain: 'plain.test', exchange: 'mx.plain.test', preference: 10 }] });
    unbound = await startUnbound({
      unsignedServer: dns.server,
      zones: [
        {
          zone: 'dane.test',
          records: [
            'ee IN MX 10 mx.ee', `mx.ee IN A ${IP.ee}`, tlsa('mx.ee.dane.test', `3 1 1 ${await tlsaData(eeCert.certPath, 1, 1)}`),
            // mx1 presents a certificate the TLSA record does not describe; mx2 one it does.
            'bad IN MX 10 mx1.bad', 'bad IN MX 20 mx2.bad', `mx1.bad IN A ${IP.mismatch}`, `mx2.bad IN A ${IP.backup}`,
            tlsa('mx1.bad.dane.test', `3 1 1 ${await tlsaData(backupCert.certPath, 1, 1)}`),
            tlsa('mx2.bad.dane.test', `3 0 2 ${await tlsaData(backupCert.certPath, 0, 2)}`),
            'wrong IN MX 10 mx1.bad',
            'notls IN MX 10 mx.notls', `mx.notls IN A ${IP.notls}`, tlsa('mx.notls.dane.test', `3 1 1 ${await tlsaData(eeCert.certPath, 1, 1)}`),
            'ta IN MX 10 mx.ta', `mx.ta IN A ${IP.ta}`, tlsa('mx.ta.dane.test', caTlsa),
            'tawrong IN MX 10 mx.tawrong', `mx.tawrong IN A ${IP.taWrongName}`, tlsa('mx.tawrong.dane.test', caTlsa),
            // RFC 7672 §2.1.1: the TLSA name is an alias into a zone that fails validation.
            'bogus IN MX 10 mx.bogus', `mx.bogus IN A ${IP.bogus}`, `_${port}._tcp.mx.bogus IN CNAME tlsa.broken.test.`,
            // Signed, but no TLSA record: a secure denial.
            'notlsa IN MX 10 mx.notlsa', `mx.notlsa IN A ${IP.plain}`,
            // Only a PKIX-EE record, unusable for SMTP (RFC 7672 §3.1.3): TLS mandatory, unauthenticated.
            'pkix IN MX 10 mx.pkix', `mx.pkix IN A ${IP.plain}`, tlsa('mx.pkix.dane.test', `1 1 1 ${'00'.repeat(32)}`),
          ],
        },
        { zone: 'broken.test', trustAnchor: 'wrong', records: [`tlsa IN TLSA 3 1 1 ${'00'.repeat(32)}`] },
      ],
    });
    const tls = (c: { certPath: string; keyPath: string }) => ({ certPath: c.certPath, keyPath: c.keyPath });
    mx.ee = await startLanSmtpd({ host: IP.ee, port, hostname: 'mx.ee.dane.test', tls: tls(eeCert) });
    mx.mismatch = await startLanSmtpd({ host: IP.mismatch, port, hostname: 'mx1.bad.dane.test', tls: tls(otherCert) });
    mx.backup = await startLanSmtpd({ host: IP.backup, port, hostname: 'mx2.bad.dane.test', tls: tls(backupCert) });
    mx.notls = await startLanSmtpd({ host: IP.notls, port, hostname: 'mx.notls.dane.test' });
    mx.plain = await startLanSmtpd({ host: IP.plain, port, hostname: 'mx.plain.test', tls: tls(eeCert) });
    mx.ta = await startLanSmtpd({ host: IP.ta, port, hostname: 'mx.ta.dane.test', tls: { certPath: await withCa(taLeaf, 'ta'), keyPath: taLeaf.keyPath } });
    mx.taWrongName = await startLanSmtpd({ host: IP.taWrongName, port, hostname: 'mx.tawrong.dane.test', tls: { certPath: await withCa(taWrong, 'tawrong'), keyPath: taWrong.keyPath } });
    mx.bogus = await startLanSmtpd({ host: IP.bogus, port, hostname: 'mx.bogus.dane.test' });
    lan = await startSmtpSink();
    await mkdir(join(dir, 'gw'));
    await mkdir(join(dir, 'plain'));
    const outbound = { trustedNetworks: [`${LAN_CLIENT}/32`], smtpPort: port, mtaSts: { enabled: false } };
    gw = await startGateway({ dir: join(dir, 'gw'), relayPort: lan.port, config: { dns: { servers: [unbound.server], timeout: '2s', dnssec: 'trusted' }, outbound } });
    plainGw = await startGateway({ dir: join(dir, 'plain'), relayPort: lan.port, config: { dns: { servers: [unbound.server], timeout: '2s' }, outbound } });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await plainGw?.stop();
    await stopAll();
    await removeAllScratchDirs();
  });

  const send = async (g: GatewayProcess, to: string, subject: string): Promise<void> => {
    const r = await swaks({ port: g.port, from: 'alice@example.test', to, localAddress: LAN_CLIENT, headers: [`Subject: ${subject}`] });
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
  };
  const subjects = async (h: LanSmtpdHandle): Promise<string[]> => (await h.messages()).map((m) => /^Subject: (.*)$/m.exec(m.raw.toString())?.[1]?.trim() ?? '');
  /** Two deferrals of the same recipient: the retry (1 s later) failed the same way. */
  const deferredTwice = async (to: string): Promise<Record<string, unknown>> => {
    const first = await gw.waitForEvent('delivery.deferred', (e) => e['to'] === to, 20_000);
    await gw.waitForEvent('delivery.deferred', (e) => e['to'] === to && e !== first, 20_000);
    return first;
  };

  it('DANE-EE 3 1 1 that matches: delivered over TLS, no name check; the record is logged', async () => {
    await send(gw, 'bob@ee.dane.test', 'ee-1');
    const [m] = await mx.ee.waitForMessages(1, 20_000);
    expect(m?.tls).toBe(true);
    const sent = await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'bob@ee.dane.test');
    expect(sent['security']).toBe('DANE DANE-EE 3 1 1');
    const matched = await gw.waitForEvent('outbound.dane', (e) => e['domain'] === 'ee.dane.test' && e['result'] === 'matched');
    expect(matched['mx']).toBe('mx.ee.dane.test');
  });

  it('mismatching TLSA: that MX never gets the mail, the next MX with a matching record does', async () => {
    await send(gw, 'carol@bad.dane.test', 'bad-1');
    const [m] = await mx.backup.waitForMessages(1, 20_000);
    expect(m?.tls).toBe(true);
    const refused = await gw.waitForEvent('outbound.dane', (e) => e['mx'] === 'mx1.bad.dane.test' && e['result'] === 'refused');
    expect(String(refused['detail'])).toMatch(/no TLSA record matches/);
    expect((await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'carol@bad.dane.test'))['security']).toBe('DANE DANE-EE 3 0 2');
    expect(await mx.mismatch.messages()).toHaveLength(0);
  });

  it('mismatching TLSA on the only MX: never delivered, deferred with 4.7.5, the reason in the reply', async () => {
    await send(gw, 'dave@wrong.dane.test', 'wrong-1');
    const deferred = await deferredTwice('dave@wrong.dane.test');
    expect(deferred['status']).toBe('4.7.5');
    expect(String(deferred['reply'])).toMatch(/mx1\.bad\.dane\.test: TLS_FAILED: DANE: no TLSA record matches/);
    expect(await mx.mismatch.messages()).toHaveLength(0);
    expect((await mx.mismatch.commands()).map((c) => c.verb)).not.toContain('MAIL');
  });

  it('a TLSA host without STARTTLS never gets the mail, not even in clear', async () => {
    await send(gw, 'erin@notls.dane.test', 'notls-1');
    const deferred = await deferredTwice('erin@notls.dane.test');
    expect(deferred['status']).toBe('4.7.5');
    expect(String(deferred['reply'])).toMatch(/TLS_REQUIRED/);
    expect((await mx.notls.commands()).map((c) => c.verb)).not.toContain('MAIL');
  });

  it('a bogus TLSA lookup (SERVFAIL from the validator) leaves the host unused: no fallback to cleartext', async () => {
    await send(gw, 'frank@bogus.dane.test', 'bogus-1');
    const deferred = await deferredTwice('frank@bogus.dane.test');
    expect(deferred['status']).toBe('4.7.5');
    const failed = await gw.waitForEvent('outbound.dane', (e) => e['domain'] === 'bogus.dane.test' && e['state'] === 'failed');
    expect(String(failed['detail'])).toMatch(/SERVFAIL/);
    expect(await mx.bogus.commands()).toHaveLength(0);
  });

  it('DANE-TA 2 0 1 with a private CA: delivered when the certificate names the MX host, refused when not', async () => {
    await send(gw, 'gina@ta.dane.test', 'ta-1');
    await send(gw, 'hank@tawrong.dane.test', 'tawrong-1');
    const [m] = await mx.ta.waitForMessages(1, 20_000);
    expect(m?.tls).toBe(true);
    expect((await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'gina@ta.dane.test'))['security']).toBe('DANE DANE-TA 2 0 1 (mx.ta.dane.test)');
    const deferred = await deferredTwice('hank@tawrong.dane.test');
    expect(deferred['status']).toBe('4.7.5');
    expect(String(deferred['reply'])).toMatch(/not for mx\.tawrong\.dane\.test/);
    expect(await mx.taWrongName.messages()).toHaveLength(0);
  });

  it('secure denial of TLSA and an unsigned domain: opportunistic delivery as before', async () => {
    await send(gw, 'ivy@notlsa.dane.test', 'notlsa-1');
    await send(gw, 'jack@plain.test', 'plain-1');
    await mx.plain.waitForMessages(2, 20_000);
    expect((await subjects(mx.plain)).sort()).toEqual(['notlsa-1', 'plain-1']);
    const none = await gw.waitForEvent('outbound.dane', (e) => e['domain'] === 'notlsa.dane.test');
    expect(none['state']).toBe('none');
    // plain.test has no signed MX: DANE is not even looked at (RFC 7672 §2.2.1).
    expect(gw.events().filter((e) => e['event'] === 'outbound.dane' && e['domain'] === 'plain.test')).toHaveLength(0);
  });

  it('only unusable TLSA records (PKIX-EE): delivered over TLS without authentication', async () => {
    await send(gw, 'lou@pkix.dane.test', 'pkix-1');
    await mx.plain.waitForMessages(3, 20_000);
    const m = (await mx.plain.messages()).find((x) => x.raw.toString().includes('Subject: pkix-1'));
    expect(m?.tls).toBe(true);
    const sent = await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'lou@pkix.dane.test');
    expect(sent['security']).toBe('TLS (DANE: unusable TLSA records only)');
    expect((await gw.waitForEvent('outbound.dane', (e) => e['domain'] === 'pkix.dane.test' && e['result'] !== undefined))['result']).toBe('tls');
  });

  it('a resolver not marked as validating: DANE is off, the mismatching MX gets the mail opportunistically', async () => {
    await send(plainGw, 'kate@wrong.dane.test', 'off-1');
    await mx.mismatch.waitForMessages(1, 20_000);
    expect(await subjects(mx.mismatch)).toEqual(['off-1']);
    const sent = await plainGw.waitForEvent('delivery.sent', (e) => e['to'] === 'kate@wrong.dane.test');
    expect(sent['security']).toBeUndefined();
    expect(plainGw.events().filter((e) => e['event'] === 'outbound.dane')).toHaveLength(0);
  });
});
