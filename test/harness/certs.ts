// Self-signed TLS certificates for loopback peers, made with the openssl CLI.
// Trusts: /usr/bin/openssl (3.x) for `req -x509 -addext`. The key is EC P-256 (fast to make);
// the certificate names 127.0.0.1, ::1, localhost and the given names, and lasts a few days.
// Fails: rejects with openssl's output when it exits non-zero.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './process.js';
import { makeScratchDir } from './tmp.js';

export interface CertOptions {
  /** Subject CN; default "localhost". */
  readonly commonName?: string;
  /** Extra DNS names for subjectAltName. */
  readonly dnsNames?: readonly string[];
  readonly days?: number;
  /** Directory to write cert.pem and key.pem into; default a fresh scratch dir. */
  readonly dir?: string;
}

export interface SelfSignedCert {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/** Makes a self-signed certificate and its private key (PEM). */
export async function makeSelfSignedCert(opts: CertOptions = {}): Promise<SelfSignedCert> {
  const dir = opts.dir ?? (await makeScratchDir('moat-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const cn = opts.commonName ?? 'localhost';
  for (const n of [cn, ...(opts.dnsNames ?? [])]) {
    if (!/^[A-Za-z0-9.*-]+$/.test(n)) throw new Error(`certs: bad name ${JSON.stringify(n)}`);
  }
  const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...[cn, ...(opts.dnsNames ?? [])].map((n) => `DNS:${n}`)];
  await runChecked(
    '/usr/bin/openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', String(opts.days ?? 7),
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${[...new Set(san)].join(',')}`,
    ],
    { timeoutMs: 20_000 },
  );
  return { dir, certPath, keyPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}
