// testssl.sh (Debian package testssl.sh, command /usr/bin/testssl 3.0) against a loopback TLS or
// STARTTLS server, with its findings read from the flat JSON file (--jsonfile).
// Trusts: testssl to connect only to the IP:port it is given. It still looks names up itself: its
// probes of the local OpenSSL run `openssl s_client -connect invalid.`, which asks the system
// resolver (seen with strace). So it runs in a private mount namespace (unshare, needs root) whose
// /etc/resolv.conf names only a DNS server of the test's own (a dnsmasq on port 53 of a loopback
// address) and whose nsswitch.conf says "files dns"; --nodns none stops its rDNS/MX/CAA lookups
// and, without --phone-out, it fetches no CRL or OCSP. The host is an IP, so nothing is resolved
// for the target (--ip one would need DNS and does not combine with --nodns none).
// Fails: rejects when testssl exits with one of its error codes (>= 242: bad option, connect
// problem, ...), when the JSON is missing, or after timeoutMs; a finding is data, never an error.
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { runCommand } from './process.js';

export interface TestsslFinding {
  readonly id: string;
  readonly severity: 'OK' | 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'WARN' | 'DEBUG' | 'FATAL';
  readonly finding: string;
  readonly cve?: string;
  readonly cwe?: string;
}

export interface TestsslOptions {
  readonly port: number;
  /** An IP address (default 127.0.0.1); never a name. */
  readonly host?: string;
  /** STARTTLS protocol (-t), or null for TLS from the first byte. Default "smtp". */
  readonly starttls?: 'smtp' | null;
  /** Check flags; default: protocols, cipher categories, forward secrecy, server preference, server defaults, vulnerabilities. */
  readonly checks?: readonly string[];
  /** IP of the test's DNS server, listening on port 53: the only resolver testssl may use. */
  readonly dnsServer: string;
  /** Scratch directory for the JSON file and the resolver files. */
  readonly dir: string;
  /** Default 280 s. */
  readonly timeoutMs?: number;
}

export interface TestsslResult {
  readonly code: number | null;
  readonly findings: readonly TestsslFinding[];
  readonly output: string;
  readonly elapsedMs: number;
}

export const DEFAULT_TESTSSL_CHECKS = ['-p', '-s', '-f', '-P', '-S', '-U'] as const;

/** Runs testssl once; resolves with every finding. */
export async function runTestssl(o: TestsslOptions): Promise<TestsslResult> {
  const host = o.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new Error(`testssl: ${host} is not an IP address`);
  if (isIP(o.dnsServer) !== 4) throw new Error(`testssl: DNS server ${o.dnsServer} is not an IPv4 address`);
  if (process.getuid?.() !== 0) throw new Error('testssl: needs root for its private mount namespace (its own resolv.conf)');
  const resolv = join(o.dir, 'resolv.conf');
  const nss = join(o.dir, 'nsswitch.conf');
  const json = join(o.dir, 'testssl.json');
  await writeFile(resolv, `nameserver ${o.dnsServer}\noptions timeout:1 attempts:1\n`);
  await writeFile(nss, 'hosts: files dns\n');
  const target = isIP(host) === 6 ? `[${host}]:${o.port}` : `${host}:${o.port}`;
  const args = [
    '--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none',
    '--connect-timeout', '10', '--openssl-timeout', '10',
    ...(o.starttls === null ? [] : ['-t', o.starttls ?? 'smtp']),
    ...(o.checks ?? DEFAULT_TESTSSL_CHECKS),
    '--jsonfile', json,
    target,
  ];
  const script = 'mount --bind "$0" /etc/resolv.conf && mount --bind "$1" /etc/nsswitch.conf && shift 2 && exec /usr/bin/testssl "$@"';
  const r = await runCommand('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, resolv, nss, ...args], {
    cwd: o.dir,
    timeoutMs: o.timeoutMs ?? 280_000,
  });
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.code === null || r.code >= 242) throw new Error(`testssl failed (exit ${String(r.code)}):\n${output.slice(-4000)}`);
  let findings: TestsslFinding[];
  try {
    findings = JSON.parse(await readFile(json, 'utf8')) as TestsslFinding[];
  } catch (e) {
    throw new Error(`testssl wrote no JSON (${String(e)}):\n${output.slice(-4000)}`, { cause: e });
  }
  return { code: r.code, findings, output, elapsedMs: r.elapsedMs };
}
