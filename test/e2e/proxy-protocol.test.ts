/**
 * PROXY protocol with a real HAProxy in front of the real gateway (supervisor + 2 workers), smtp-sink
 * as the LAN server: swaks → HAProxy (send-proxy / send-proxy-v2, also over IPv6) → Moat's PROXY
 * listener → smtp-sink (Python smtplib for the IPv6 client). Our Received: header at the LAN server must show the client address as
 * HAProxy saw it (swaks binds 127.0.0.10/11, HAProxy itself connects from 127.0.0.1); HAProxy's
 * own health checks (v2 LOCAL) are sessions of the proxy's address; a direct connection from an
 * address that is not a trusted proxy is closed without a greeting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaproxy, type HaproxyHandle } from '../harness/haproxy.js';
import { freePort } from '../harness/ports.js';
import { runCommand, stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

describe('PROXY protocol behind HAProxy', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;
  let proxyPort: number;
  let v1: HaproxyHandle;
  let v2: HaproxyHandle;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
    const plain = await freePort();
    proxyPort = await freePort();
    gw = await startGateway({
      dir,
      relayPort: sink.port,
      port: plain,
      config: {
        listen: [{ address: `127.0.0.1:${plain}` }, { address: `[::1]:${await freePort('::1')}` }, { address: `127.0.0.1:${proxyPort}`, proxyProtocol: true, trustedProxies: ['127.0.0.1/32', '::1/128'], proxyTimeout: '2s' }],
      },
    });
    v1 = await startHaproxy({ backendPort: proxyPort, proxyProtocol: 1, dir });
    v2 = await startHaproxy({ backendPort: proxyPort, proxyProtocol: 2, healthCheckMs: 1000, dir });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  async function receivedFor(subject: string): Promise<string> {
    const msgs = await sink.waitForMessages(1, 20_000);
    const found = msgs.find((m) => m.data.includes(`Subject: ${subject}`)) ?? (await waitSubject(subject));
    return /^Received: from [^\n]*\n\tby [^\n]*/m.exec(found.data)?.[0] ?? '';
  }
  async function waitSubject(subject: string): Promise<{ data: string }> {
    const { waitUntil } = await import('../harness/wait.js');
    return waitUntil(async () => (await sink.messages()).find((m) => m.data.includes(`Subject: ${subject}`)), { timeoutMs: 20_000, what: subject });
  }

  for (const [version, local] of [
    [1, '127.0.0.10'],
    [2, '127.0.0.11'],
  ] as const) {
    it(`relays through send-proxy${version === 2 ? '-v2' : ''} with the client address HAProxy reported in Received:`, async () => {
      const r = await swaks({ port: (version === 1 ? v1 : v2).port, localAddress: local, to: 'bob@example.test', helo: `v${version}.client.test`, headers: [`Subject: via-v${version}`] });
      expect(r.code, r.stdout).toBe(0);
      expect(r.replies[0]).toBe('220 mx.moat.test ESMTP');
      expect(await receivedFor(`via-v${version}`)).toMatch(new RegExp(`^Received: from v${version}\\.client\\.test \\(\\[${local.replace(/\./g, '\\.')}\\]\\)\\n\\tby mx\\.moat\\.test `));
      const open = gw.events().filter((e) => e['event'] === 'session.open' && e['client'] === local);
      expect(open.length).toBeGreaterThan(0);
    });
  }

  it('carries an IPv6 client (HAProxy on ::1, TCP6 / AF_INET6) into Received:', async () => {
    const six = await startHaproxy({ backendPort: proxyPort, proxyProtocol: 2, host: '::1', dir });
    // Python's smtplib as the client here: Debian's swaks needs IO::Socket::INET6 for IPv6.
    const script = [
      'import smtplib, sys',
      "s = smtplib.SMTP('::1', int(sys.argv[1]), local_hostname='v6.client.test', timeout=20)",
      "s.sendmail('a@sender.example', ['bob@example.test'], 'Subject: via-v6\\r\\n\\r\\nhello\\r\\n')",
      's.quit()',
    ].join('\n');
    const r = await runCommand('/usr/bin/python3', ['-c', script, String(six.port)], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await receivedFor('via-v6')).toMatch(/^Received: from v6\.client\.test \(\[IPv6:::1\]\)/);
    await six.stop();
  });

  it('takes HAProxy health checks (v2 LOCAL) as sessions of the proxy itself', async () => {
    // The v2 instance checks every second: LOCAL header, 220 expected, "HELO haproxy.test", QUIT.
    // Had Moat refused the LOCAL header, the check would fail (no greeting).
    const line = await v2.process.waitForLine(/Health check for server smtp_out\/smtp (succeeded|failed)[^\n]*/, 20_000);
    expect(line[0]).toMatch(/succeeded, reason: Layer7 check passed, code: 221, info: "mx\.moat\.test closing connection"/);
    await gw.waitForEvent('session.open', (e) => e['client'] === '127.0.0.1' && String(e['local']).endsWith(`:${proxyPort}`), 20_000);
  });

  it('closes a direct connection from an untrusted address without a greeting, and logs why', async () => {
    const t = await SmtpTalk.open(proxyPort, '127.0.0.1', '127.0.0.20');
    t.send('PROXY TCP4 203.0.113.1 127.0.0.1 1 25\r\nEHLO sneaky.example\r\n');
    expect(await t.nextLine()).toBeNull();
    expect(t.pendingText).toBe('');
    const refused = await gw.waitForEvent('session.refused', (e) => e['peer'] === '127.0.0.20');
    expect(refused['reason']).toBe('untrusted-proxy');
    expect(gw.events().some((e) => e['event'] === 'session.open' && e['client'] === '203.0.113.1')).toBe(false);
  });

  it('closes a trusted peer that sends no PROXY header (a client connecting straight to the proxy listener)', async () => {
    const r = await swaks({ port: proxyPort, to: 'bob@example.test', timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.replies.some((l) => l.startsWith('220'))).toBe(false);
    await gw.waitForEvent('session.refused', (e) => e['reason'] === 'proxy-header-timeout' || e['reason'] === 'proxy-header-malformed');
  });
});
