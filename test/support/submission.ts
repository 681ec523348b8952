/**
 * What an end-to-end test of SMTP AUTH submitters sets up: a port-25 style listener, a submission
 * listener (587 style, STARTTLS required before MAIL) and an implicit-TLS one (465 style), all with
 * one self-signed certificate on free loopback ports; a password file of scrypt lines (the format
 * `moat passwd` writes); and the swaks arguments that authenticate.
 */
import { writeFile } from 'node:fs/promises';
import { makeSelfSignedCert } from '../harness/certs.js';
import { freePorts } from '../harness/ports.js';
import { hashLine } from '../../src/outbound/passwords.js';

export interface SubmissionListeners {
  readonly ports: { readonly plain: number; readonly submission: number; readonly implicit: number };
  /** The gateway config's `listen` list. */
  readonly listen: readonly Record<string, unknown>[];
}

export async function submissionListeners(commonName = 'mx.moat.test'): Promise<SubmissionListeners> {
  const cert = await makeSelfSignedCert({ commonName });
  const [plain, submission, implicit] = (await freePorts(3)) as [number, number, number];
  const tls = { cert: cert.certPath, key: cert.keyPath };
  return {
    ports: { plain, submission, implicit },
    listen: [
      { address: `127.0.0.1:${plain}`, tls },
      { address: `127.0.0.1:${submission}`, tls, submission: true },
      { address: `127.0.0.1:${implicit}`, tls, implicitTls: true },
    ],
  };
}

/** Writes a password file with one line per account (user → password). */
export async function writePasswordFile(path: string, accounts: Readonly<Record<string, string>>): Promise<void> {
  const lines = await Promise.all(Object.entries(accounts).map(([user, password]) => hashLine(user, password)));
  await writeFile(path, `# test accounts\n${lines.join('\n')}\n`, { mode: 0o600 });
}

/** swaks arguments for SMTP AUTH. */
export function authArgs(user: string, password: string, mechanism: 'PLAIN' | 'LOGIN' = 'PLAIN'): string[] {
  return ['--auth', mechanism, '--auth-user', user, '--auth-password', password];
}
