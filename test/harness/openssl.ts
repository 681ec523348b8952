// The openssl s_client as a TLS peer: STARTTLS (`-starttls smtp`) against a loopback server, for
// what a TLS client sees (certificate subject, protocol, cipher) and for what only OpenSSL's
// client can be made to do (an interactive "R" renegotiation on TLS 1.2).
// Trusts: /usr/bin/openssl 3.x; connects to the IP given, so no name is resolved. No certificate
// is verified (self-signed test certificates): the result only reports what was presented.
// Fails: sClient returns the exit code and the output; it rejects only when openssl hangs past
// timeoutMs. The interactive client is a ManagedProcess (stopped by the registry like any peer).
import { runCommand, startProcess, type ManagedProcess } from './process.js';

export interface SClientOptions {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default "smtp"; null for TLS from the first byte. */
  readonly starttls?: 'smtp' | null;
  /** Pin one protocol version (-tls1_2 / -tls1_3). */
  readonly version?: '1.1' | '1.2' | '1.3';
  /** Offer only this TLS 1.2 cipher list (-cipher). */
  readonly cipher?: string;
  readonly extraArgs?: readonly string[];
  /** Default 20 s. */
  readonly timeoutMs?: number;
}

export interface SClientResult {
  readonly code: number | null;
  readonly output: string;
  /** "CN = mx.example.test" as s_client prints it, or null when no certificate came. */
  readonly subject: string | null;
  /** "TLSv1.3", or null when no handshake completed. */
  readonly protocol: string | null;
  readonly cipher: string | null;
}

function args(o: SClientOptions): string[] {
  return [
    's_client',
    '-connect', `${o.host ?? '127.0.0.1'}:${o.port}`,
    ...(o.starttls === null ? [] : ['-starttls', o.starttls ?? 'smtp']),
    ...(o.version ? [`-tls${o.version.replace('.', '_')}`] : []),
    ...(o.cipher ? ['-cipher', o.cipher] : []),
    ...(o.extraArgs ?? []),
  ];
}

export function parseSClient(output: string): Omit<SClientResult, 'code' | 'output'> {
  const subject = /^subject=(.*)$/m.exec(output)?.[1]?.trim() ?? null;
  const m = /^New, (TLSv[\d.]+), Cipher is (\S+)/m.exec(output);
  return { subject, protocol: m?.[1] ?? null, cipher: m?.[2] ?? null };
}

/** One handshake, then EOF on stdin ends the connection. */
export async function sClient(o: SClientOptions): Promise<SClientResult> {
  const r = await runCommand('/usr/bin/openssl', args(o), { input: '', timeoutMs: o.timeoutMs ?? 20_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  return { code: r.code, output, ...parseSClient(output) };
}

/**
 * An s_client that stays connected; write "R\n" to ask for a renegotiation (interactive mode,
 * so no -quiet/-ign_eof), "Q\n" to quit. Wait on its output with waitForLine.
 */
export function startSClient(o: SClientOptions): ManagedProcess {
  return startProcess('/usr/bin/openssl', args(o), { name: 's_client', stdin: true });
}
