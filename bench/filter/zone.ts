// The DNS the filter suite's systems ask: one dnsmasq (the test harness) answering instantly from a
// zone made here, never forwarding. The sending side is sender.test: the load's client 127.0.0.1
// has the forward-confirmed name client.sender.test (PTR and A), sender.test publishes an SPF
// record for 127.0.0.0/8, a 2048-bit RSA DKIM key (selector bench) and a DMARC p=reject record, so
// that SPF, DKIM and DMARC pass for the synthetic messages, which are signed with that key. Every
// other name under the common top-level domains (the corpus's From: domains, URLs, RBL and map
// hosts the scanners try) is NXDOMAIN at once, as an empty answer from a fast resolver would be:
// no system waits on a timeout or sees a SERVFAIL.
// Trusts: mailauth's dkimSign (the gateway's own DKIM library) for signing. Fails: throws when
// signing fails.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { DnsZone } from '../../test/harness/index.js';

export const SENDER_DOMAIN = 'sender.test';
export const CLIENT_NAME = `client.${SENDER_DOMAIN}`;
export const DKIM_SELECTOR = 'bench';

/** Top-level domains answered NXDOMAIN when unknown, besides the test ones. */
const TLDS = ['com', 'net', 'org', 'edu', 'gov', 'mil', 'int', 'info', 'biz', 'us', 'uk', 'de', 'fr', 'nl', 'it', 'es', 'ru', 'jp', 'cn', 'kr', 'tw', 'au', 'ca', 'br', 'mx', 'ch', 'at', 'be', 'se', 'no', 'dk', 'fi', 'pl', 'cz', 'ie', 'il', 'in', 'nz', 'za', 'sg', 'hk', 'io', 'co', 'tv', 'cc', 'ws', 'name', 'arpa'];

export interface SenderKeys {
  readonly privateKeyPem: string;
  readonly publicKeyB64: string;
}

export function makeSenderKeys(): SenderKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyB64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** The zone described in the header. */
export function filterZone(keys: SenderKeys): DnsZone {
  return {
    hosts: [{ name: CLIENT_NAME, addresses: ['127.0.0.1'] }],
    mx: [{ domain: SENDER_DOMAIN, exchange: CLIENT_NAME, preference: 10 }],
    txt: [
      { name: SENDER_DOMAIN, text: 'v=spf1 ip4:127.0.0.0/8 -all' },
      { name: `${DKIM_SELECTOR}._domainkey.${SENDER_DOMAIN}`, text: `v=DKIM1; k=rsa; p=${keys.publicKeyB64}` },
      { name: `_dmarc.${SENDER_DOMAIN}`, text: `v=DMARC1; p=reject; adkim=r; aspf=r` },
    ],
    localSuffixes: ['test', '127.in-addr.arpa', ...TLDS],
  };
}

/** `wire` (CRLF lines) with a relaxed/relaxed DKIM-Signature of sender.test in front. */
export async function signMessage(wire: Buffer, keys: SenderKeys): Promise<Buffer> {
  const r = await dkimSign(wire, { canonicalization: 'relaxed/relaxed', signingDomain: SENDER_DOMAIN, selector: DKIM_SELECTOR, privateKey: keys.privateKeyPem });
  if (r.errors.length > 0 || r.signatures === '') throw new Error(`DKIM signing failed: ${r.errors.map(String).join('; ')}`);
  return Buffer.concat([Buffer.from(r.signatures.replace(/\r?\n/g, '\r\n'), 'latin1'), wire]);
}
