/**
 * DKIM signing (RFC 6376) of outbound mail with mailauth 4.x's dkimSign: rsa-sha256 or
 * ed25519-sha256 (RFC 8463), relaxed/relaxed canonicalization, mailauth's default header list
 * (From, Subject, Date, To, Cc, Message-ID, MIME and List-* fields...). The key is chosen by the
 * RFC5322.From domain: its own key, else the nearest parent domain's (d= is then the parent, which
 * DMARC's relaxed alignment accepts). Keys are read on first use per config (a reload reads them
 * again: key rotation). The signature is made when the message is spooled, over exactly the octets
 * that delivery will send (our prepended fields and the content with its edits applied): nothing
 * changes the message after that, so the signature covers its final form; see README "Outbound".
 * Trusts: the key files (operator's). Fails: an unreadable key, or a signing error, throws, and the
 * message is deferred (451): mail that should be signed is never sent unsigned. mailauth's signer is
 * imported on the first signature (a worker that never signs does not load it).
 */
import { createPrivateKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { DkimKeyConfig } from './config.js';

export class DkimError extends Error {
  readonly code = 'DKIM_SIGN';
  readonly transient = true;
}

interface LoadedKey {
  readonly domain: string;
  readonly selector: string;
  readonly pem: string;
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
}

let signer: Promise<{ readonly dkimSign: typeof dkimSign }> | null = null;

export class DkimSigner {
  private readonly loaded = new Map<string, Promise<LoadedKey>>();

  constructor(
    private readonly keys: Readonly<Record<string, DkimKeyConfig>>,
    private readonly readText: (path: string) => Promise<string>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The configured signing domain for a From domain (itself or its nearest parent with a key), or null. */
  signingDomain(fromDomain: string): string | null {
    const labels = fromDomain.toLowerCase().split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const d = labels.slice(i).join('.');
      if (Object.hasOwn(this.keys, d)) return d;
    }
    return null;
  }

  /** DKIM-Signature field(s) (CRLF-terminated) for the message, or '' when no key applies. */
  async sign(fromDomain: string | null, message: AsyncIterable<Buffer>): Promise<string> {
    const domain = fromDomain === null ? null : this.signingDomain(fromDomain);
    if (domain === null) return '';
    const key = await this.key(domain);
    let result;
    try {
      signer ??= import('mailauth/lib/dkim/sign.js');
      const { dkimSign: sign } = await signer;
      result = await sign(Readable.from(message), {
        signTime: new Date(this.now()),
        signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.pem, algorithm: key.algorithm, canonicalization: 'relaxed/relaxed' }],
      } as Parameters<typeof dkimSign>[1]);
    } catch (e) {
      throw new DkimError(`DKIM signing for ${domain} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const errors = result.errors;
    if (errors.length > 0 || !/^DKIM-Signature:/i.test(result.signatures)) {
      throw new DkimError(`DKIM signing for ${domain} failed: ${errors.map((e) => e.message).join('; ') || 'no signature'}`);
    }
    return result.signatures;
  }

  private key(domain: string): Promise<LoadedKey> {
    let k = this.loaded.get(domain);
    if (!k) {
      k = this.load(domain);
      k.catch(() => this.loaded.delete(domain));
      this.loaded.set(domain, k);
    }
    return k;
  }

  private async load(domain: string): Promise<LoadedKey> {
    const c = this.keys[domain] as DkimKeyConfig;
    let pem: string;
    try {
      pem = await this.readText(c.keyFile);
    } catch (e) {
      throw new DkimError(`DKIM key of ${domain} (${c.keyFile}): ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    let type: string | undefined;
    try {
      type = createPrivateKey(pem).asymmetricKeyType;
    } catch {
      throw new DkimError(`DKIM key of ${domain} (${c.keyFile}): not a PEM private key`);
    }
    const algorithm = c.algorithm ?? (type === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256');
    if ((algorithm === 'ed25519-sha256') !== (type === 'ed25519') || (type !== 'rsa' && type !== 'ed25519')) {
      throw new DkimError(`DKIM key of ${domain} (${c.keyFile}): a ${type ?? 'unknown'} key cannot sign ${algorithm}`);
    }
    return { domain, selector: c.selector, pem, algorithm };
  }
}
