/**
 * `moat passwd USER` and `moat dkim keygen DOMAIN SELECTOR`: the two files the outbound relay needs
 * that an operator makes by hand. passwd reads the password from standard input (one line; it is
 * never echoed or logged) and prints the password-file line. keygen writes a new private key
 * (PKCS#8 PEM, mode 0600, never over an existing file) and prints the DNS TXT record to publish
 * (RFC 6376 §3.6.1; Ed25519 keys as RFC 8463 §4.2: the raw 32-octet key), split into
 * character-strings of at most 255 octets.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { hashLine } from '../outbound/passwords.js';

async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export async function passwdCommand(user: string): Promise<number> {
  if (process.stdin.isTTY) process.stderr.write(`password for ${user}: `);
  const password = await readLine();
  try {
    process.stdout.write(`${await hashLine(user, password)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`moat passwd: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** The p= value of a DKIM key record. */
export function dkimPublicValue(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'ed25519') {
    // SPKI of Ed25519 is a 12-octet prefix and the raw 32-octet key.
    return publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  }
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
}

export function dkimTxtRecord(domain: string, selector: string, publicKey: KeyObject): string {
  const k = publicKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa';
  const text = `v=DKIM1; k=${k}; p=${dkimPublicValue(publicKey)}`;
  const strings: string[] = [];
  for (let i = 0; i < text.length; i += 255) strings.push(`"${text.slice(i, i + 255)}"`);
  return `${selector}._domainkey.${domain}. IN TXT ( ${strings.join(' ')} )`;
}

export async function dkimKeygenCommand(domain: string, selector: string, o: { algorithm: string; bits: string; out?: string }): Promise<number> {
  if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i.test(domain) || !/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/i.test(selector)) {
    process.stderr.write('moat dkim keygen: DOMAIN and SELECTOR must be DNS names\n');
    return 1;
  }
  const bits = Number(o.bits);
  if (o.algorithm !== 'rsa' && o.algorithm !== 'ed25519') {
    process.stderr.write('moat dkim keygen: --algorithm is rsa or ed25519\n');
    return 1;
  }
  if (o.algorithm === 'rsa' && (!Number.isInteger(bits) || bits < 1024 || bits > 4096)) {
    process.stderr.write('moat dkim keygen: --bits between 1024 and 4096 (RFC 8301: at least 1024; 2048 recommended)\n');
    return 1;
  }
  const pair = o.algorithm === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: bits }) : generateKeyPairSync('ed25519');
  const file = o.out ?? `${domain}.${selector}.key`;
  try {
    await writeFile(file, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    process.stderr.write(`moat dkim keygen: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  process.stderr.write(`private key written to ${file} (mode 0600); publish this record, then add to the config:\n`);
  process.stderr.write(`  outbound: { dkim: { ${domain}: { selector: ${selector}, keyFile: ${file} } } }\n`);
  process.stdout.write(`${dkimTxtRecord(domain, selector, pair.publicKey)}\n`);
  return 0;
}
