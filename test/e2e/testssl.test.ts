/**
 * testssl.sh against Moat's STARTTLS on loopback with the default TLS settings (only cert and key
 * configured): protocols, cipher categories, forward secrecy, server preference, server defaults
 * and the vulnerability checks (-p -s -f -P -S -U; about 90 s on 2 cores; client simulation, the
 * slowest part of a default run, is left out). No finding may be rated MEDIUM, HIGH or CRITICAL
 * except those that only say the certificate is a self-signed test certificate (EXCUSED below).
 * Network: every lookup testssl makes goes to the test's own dnsmasq (see test/harness/testssl.ts);
 * the test checks that no lookup named the target or anything but testssl's local probe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../harness/certs.js';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { freeLoopbackAddress } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { runTestssl, type TestsslResult } from '../harness/testssl.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

/**
 * Findings excused because they are about the test certificate, not about Moat's TLS settings:
 * - cert_chain_of_trust (CRITICAL "failed (self signed)"): the test certificate has no CA; an
 *   operator's certificate chains to a public CA (or to the one their senders pin).
 * - cert_revocation (HIGH "Neither CRL nor OCSP URI provided"): a self-signed certificate carries
 *   no CRL distribution point or OCSP URL; a CA-issued one does.
 * Nothing else is excused: the certificate is made with a SAN for 127.0.0.1 (so cert_trust and
 * cert_subjectAltName are judged) and lasts 90 days (so cert_expirationStatus is judged too).
 */
const EXCUSED = new Set(['cert_chain_of_trust', 'cert_revocation']);
const BAD = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);
/**
 * testssl's probes of the local OpenSSL ask for `invalid` (s_client -connect invalid.); the harness
 * asks its own dnsmasq for its readiness name before the run.
 */
const LOCAL_PROBE_NAMES = new Set(['invalid', 'moat-harness-readiness-probe.test']);

const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)('testssl.sh against the default STARTTLS settings', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let dns: DnsmasqHandle;
  let gw: GatewayProcess;
  let result: TestsslResult;
  let dnsLinesBefore = 0;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
    // A random loopback address: another test run on the machine may have its own DNS server on port 53.
    dns = await startDnsmasq({}, { address: await freeLoopbackAddress(53, { udp: true }), port: 53, logQueries: true });
    const cert = await makeSelfSignedCert({ commonName: 'mx.moat.test', days: 90 });
    gw = await startGateway({ dir, relayPort: sink.port, listenTls: { cert: cert.certPath, key: cert.keyPath } });
    dnsLinesBefore = dns.process.lines().length;
    result = await runTestssl({ port: gw.port, dnsServer: dns.host, dir, timeoutMs: 280_000 });
  }, 320_000);
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const find = (id: string): string => result.findings.find((f) => f.id === id)?.finding ?? `(no ${id})`;

  it('ran every check it was asked for', () => {
    for (const id of ['TLS1_2', 'TLS1_3', 'cipherlist_LOW', 'cipherlist_AVERAGE', 'PFS', 'cipher_order', 'cert_trust', 'heartbleed', 'secure_client_renego', 'CRIME_TLS', 'ROBOT', 'SWEET32', 'LUCKY13', 'scanTime']) {
      expect(result.findings.map((f) => f.id), result.output.slice(-3000)).toContain(id);
    }
  });

  it('rates nothing MEDIUM, HIGH or CRITICAL beyond the self-signed certificate', () => {
    const bad = result.findings.filter((f) => BAD.has(f.severity) && !EXCUSED.has(f.id));
    expect(bad, JSON.stringify(bad, null, 2)).toEqual([]);
  });

  it('reports the settings Moat chose', () => {
    expect(find('SSLv3')).toMatch(/not offered/);
    expect(find('TLS1')).toMatch(/not offered/);
    expect(find('TLS1_1')).toMatch(/not offered/);
    expect(find('TLS1_3')).toMatch(/offered/);
    expect(find('cipher_order')).toMatch(/server/);
    expect(find('secure_client_renego')).toMatch(/not vulnerable/);
    expect(find('CRIME_TLS')).toMatch(/not vulnerable/);
    expect(find('cert_trust')).toMatch(/Ok/);
  });

  it('looked up no name but its local probe, and only at the test\'s DNS server', () => {
    const asked = dns.process
      .lines()
      .slice(dnsLinesBefore)
      .map((l) => / query\[\w+\] (\S+) from /.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    // Its probes did reach our server: the private resolv.conf was in force (not the system's).
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.filter((n) => !LOCAL_PROBE_NAMES.has(n))).toEqual([]);
  });
});
