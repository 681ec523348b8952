// Self-signed TLS certificates for loopback peers, made with the openssl CLI.
// Trusts: /usr/bin/openssl (3.x) for `req -x509 -addext`. The key is EC P-256 (fast to make);
// the certificate names 127.0.0.1, ::1, localhost and the given names, and lasts a few days.
// Fails: rejects with openssl's output when it exits non-zero.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './process.js';
import { makeScratchDir, removeScratchDir } from './tmp.js';

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

export interface TestCa {
  readonly dir: string;
  /** PEM file of the CA certificate (what a verifying client trusts). */
  readonly caPath: string;
  /** A certificate for these DNS names (the first is the CN), signed by the CA. */
  issue(names: readonly string[]): Promise<SelfSignedCert>;
}

/** A private certificate authority (EC P-256) for tests that need verified TLS (MTA-STS). */
export async function makeTestCa(opts: { readonly dir?: string } = {}): Promise<TestCa> {
  const dir = opts.dir ?? (await makeScratchDir('moat-ca-'));
  const caPath = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await runChecked(
    '/usr/bin/openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caPath, '-days', '7',
      '-subj', '/CN=Moat Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { timeoutMs: 20_000 },
  );
  let serial = 0;
  return {
    dir,
    caPath,
    async issue(names) {
      for (const n of names) if (!/^[A-Za-z0-9.*-]+$/.test(n)) throw new Error(`certs: bad name ${JSON.stringify(n)}`);
      const base = join(dir, `leaf-${++serial}`);
      const ext = `${base}.ext`;
      const { writeFile } = await import('node:fs/promises');
      await writeFile(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      await runChecked('/usr/bin/openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${names[0] ?? 'localhost'}`], { timeoutMs: 20_000 });
      await runChecked('/usr/bin/openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', caPath, '-CAkey', caKey, '-set_serial', String(1000 + serial), '-days', '7', '-out', `${base}.pem`, '-extfile', ext], { timeoutMs: 20_000 });
      return { dir, certPath: `${base}.pem`, keyPath: `${base}.key`, cert: await readFile(`${base}.pem`, 'utf8'), key: await readFile(`${base}.key`, 'utf8') };
    },
  };
}

/**
 * The certificate association data of a TLSA record (RFC 6698 §2.1) for a PEM certificate, made by
 * the openssl CLI (independently of Moat's code): selector 0 the whole certificate (DER), 1 its
 * SubjectPublicKeyInfo (DER); matching type 0 the selected octets themselves, 1 SHA-256, 2 SHA-512.
 * Hex, lower case.
 */
export async function tlsaData(certPath: string, selector: 0 | 1, matchingType: 0 | 1 | 2): Promise<string> {
  const dir = await makeScratchDir('moat-tlsa-');
  try {
    const der = join(dir, 'selected.der');
    if (selector === 0) {
      await runChecked('/usr/bin/openssl', ['x509', '-in', certPath, '-outform', 'DER', '-out', der], { timeoutMs: 20_000 });
    } else {
      const pub = join(dir, 'pub.pem');
      await runChecked('/usr/bin/openssl', ['x509', '-in', certPath, '-noout', '-pubkey', '-out', pub], { timeoutMs: 20_000 });
      await runChecked('/usr/bin/openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER', '-out', der], { timeoutMs: 20_000 });
    }
    if (matchingType === 0) return (await readFile(der)).toString('hex');
    const r = await runChecked('/usr/bin/openssl', ['dgst', matchingType === 1 ? '-sha256' : '-sha512', '-r', der], { timeoutMs: 20_000 });
    const hex = /^([0-9a-f]+)\s/.exec(r.stdout)?.[1];
    if (hex === undefined) throw new Error(`openssl dgst printed no digest: ${r.stdout}`);
    return hex;
  } finally {
    await removeScratchDir(dir);
  }
}
