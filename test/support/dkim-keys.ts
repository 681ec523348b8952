/**
 * DKIM keys and signed messages made inside a test: an RSA or Ed25519 key pair from node:crypto,
 * its DNS TXT record (RFC 6376 §3.6.1; RFC 8463 §4 for Ed25519: the raw 32-octet key), and
 * signatures and ARC sets made with mailauth's own signer, so nothing pre-signed goes stale.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, sealMessage, type ARCSealOptions, type DKIMSignOptions } from 'mailauth';

export interface TestKey {
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
  readonly privateKey: string;
  /** The TXT value for selector._domainkey.domain. */
  readonly record: string;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { algorithm: 'rsa-sha256', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${p}` };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // The SPKI DER of an Ed25519 key is a 12-octet prefix and the 32-octet key.
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(12);
  return { algorithm: 'ed25519-sha256', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=ed25519; p=${raw.toString('base64')}` };
}

let counter = 0;

/** A plain message with CRLF line ends. */
export function message(o: { from: string; subject?: string; body?: string; extraHeaders?: readonly string[] }): string {
  counter++;
  return [
    `From: ${o.from}`,
    'To: Bob <bob@example.test>',
    `Subject: ${o.subject ?? 'hello'}`,
    'Date: Thu, 01 Jan 2026 00:00:00 +0000',
    `Message-ID: <${counter}.${process.pid}@moat.test>`,
    ...(o.extraHeaders ?? []),
    '',
    o.body ?? 'Hello world\r\n',
  ].join('\r\n');
}

/** `msg` with a DKIM-Signature of d=domain s=selector prepended. */
export async function sign(msg: string, domain: string, selector: string, key: TestKey): Promise<string> {
  // mailauth signs what signatureData lists; its typings also demand the top-level fields it ignores.
  const options = { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: domain, selector, privateKey: key.privateKey, algorithm: key.algorithm }] } as unknown as DKIMSignOptions;
  const r = await dkimSign(msg, options);
  if (r.errors.length > 0) throw r.errors[0];
  return r.signatures + msg;
}

/** `msg` with an ARC set (RFC 8617) of the next instance prepended, as a forwarder would add it (RSA keys only). */
export async function seal(msg: string, domain: string, selector: string, key: TestKey, authResults: string, cv: 'none' | 'pass' = 'none'): Promise<string> {
  // mailauth's seal options take the chain validation and the A-R text too (its typings omit them).
  const options: ARCSealOptions & { readonly authResults: string; readonly cv: string } = { signingDomain: domain, selector, privateKey: key.privateKey, algorithm: key.algorithm, authResults, cv };
  const headers = await sealMessage(Buffer.from(msg), options);
  return headers.toString() + msg;
}
