/**
 * TLSA matching (RFC 6698 §2.1, RFC 7671, RFC 7672 §3) against certificates made at test time by the
 * openssl CLI, with the association data computed by openssl too (test/harness/certs.ts tlsaData).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, makeTestCa, tlsaData } from '../../../test/harness/certs.js';
import { makeScratchDir, removeAllScratchDirs } from '../../../test/harness/tmp.js';
import { matchDane, usableTlsa, type TlsaAssociation } from './tlsa.js';

// Certificates are made in beforeAll, after this module loaded: "now" is read when each check runs.
const now = (): Date => new Date();
const LATER = new Date(Date.now() + 100 * 365 * 86_400_000);

async function cert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

function rec(usage: number, selector: number, matchingType: number, hex: string): TlsaAssociation {
  return { usage, selector, matchingType, data: Buffer.from(hex, 'hex') };
}

describe('TLSA matching', () => {
  let leafPath: string;
  let leaf: X509Certificate;
  let otherPath: string;
  let caPath: string;
  let ca: X509Certificate;
  let mx: X509Certificate;
  let wild: X509Certificate;
  let forged: X509Certificate;

  beforeAll(async () => {
    const self = await makeSelfSignedCert({ commonName: 'unrelated.example', dir: await makeScratchDir() });
    const other = await makeSelfSignedCert({ commonName: 'other.example', dir: await makeScratchDir() });
    leafPath = self.certPath;
    otherPath = other.certPath;
    leaf = await cert(leafPath);
    const testCa = await makeTestCa();
    caPath = testCa.caPath;
    ca = await cert(caPath);
    mx = await cert((await testCa.issue(['mx.example.test'])).certPath);
    wild = await cert((await testCa.issue(['*.example.test'])).certPath);
    // A leaf from another CA that also calls itself "Moat Test CA": the chain does not verify.
    const rogueCa = await makeTestCa();
    forged = await cert((await rogueCa.issue(['mx.example.test'])).certPath);
  }, 60_000);
  afterAll(removeAllScratchDirs);

  it('DANE-EE: every selector and matching type matches the leaf, with no name or expiry check', async () => {
    for (const [s, m] of [[1, 1], [0, 1], [1, 2], [0, 2], [1, 0], [0, 0]] as const) {
      const r = rec(3, s, m, await tlsaData(leafPath, s, m));
      expect(matchDane([leaf], { records: [r], names: ['mx.example.test'] }, now())).toEqual({ ok: true, matched: `DANE-EE 3 ${s} ${m}` });
      expect(matchDane([leaf], { records: [r], names: ['mx.example.test'] }, LATER).ok).toBe(true);
    }
  });

  it('DANE-EE: a record for another key does not match', async () => {
    const r = rec(3, 1, 1, await tlsaData(otherPath, 1, 1));
    const m = matchDane([leaf], { records: [r], names: ['mx.example.test'] }, now());
    expect(m.ok).toBe(false);
    expect(m.ok ? '' : m.problem).toMatch(/no TLSA record matches the certificate chain \(DANE-EE 3 1 1\)/);
  });

  it('DANE-TA: the trust anchor in the chain, a verified path and the reference name', async () => {
    const ta = rec(2, 0, 1, await tlsaData(caPath, 0, 1));
    expect(matchDane([mx, ca], { records: [ta], names: ['mx.example.test'] }, now())).toEqual({ ok: true, matched: 'DANE-TA 2 0 1 (mx.example.test)' });
    const spki = rec(2, 1, 1, await tlsaData(caPath, 1, 1));
    expect(matchDane([wild, ca], { records: [spki], names: ['mx.example.test'] }, now())).toEqual({ ok: true, matched: 'DANE-TA 2 1 1 (mx.example.test)' });
    // The wildcard covers one label only (RFC 6125 §6.4.3).
    expect(matchDane([wild, ca], { records: [spki], names: ['a.mx.example.test'] }, now()).ok).toBe(false);
  });

  it('DANE-TA: wrong name, missing anchor, broken path and expiry are refused', async () => {
    const ta = rec(2, 0, 1, await tlsaData(caPath, 0, 1));
    const wrongName = matchDane([mx, ca], { records: [ta], names: ['mail.example.net'] }, now());
    expect(wrongName.ok ? '' : wrongName.problem).toMatch(/not for mail\.example\.net/);
    // The server must send the anchor (RFC 7671 §5.2.2); a DANE-TA record never matches the leaf.
    expect(matchDane([mx], { records: [ta], names: ['mx.example.test'] }, now()).ok).toBe(false);
    expect(matchDane([ca], { records: [ta], names: ['mx.example.test'] }, now()).ok).toBe(false);
    const broken = matchDane([forged, ca], { records: [ta], names: ['mx.example.test'] }, now());
    expect(broken.ok ? '' : broken.problem).toMatch(/not signed by/);
    const expired = matchDane([mx, ca], { records: [ta], names: ['mx.example.test'] }, LATER);
    expect(expired.ok ? '' : expired.problem).toMatch(/validity period/);
  });

  it('PKIX-TA/PKIX-EE and unknown selectors or matching types are unusable for SMTP (RFC 7672 §3.1.3)', async () => {
    const hex = await tlsaData(leafPath, 1, 1);
    const records = [rec(0, 1, 1, hex), rec(1, 1, 1, hex), rec(3, 2, 1, hex), rec(3, 1, 3, hex), rec(4, 1, 1, hex)];
    expect(usableTlsa(records)).toEqual([]);
    const m = matchDane([leaf], { records, names: [] }, now());
    expect(m.ok ? '' : m.problem).toBe('no usable TLSA record');
    expect(matchDane([], { records: [rec(3, 1, 1, hex)], names: [] }, now())).toEqual({ ok: false, problem: 'the server sent no certificate' });
  });
});
