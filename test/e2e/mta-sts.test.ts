/**
 * MTA-STS (RFC 8461) through the real gateway: dnsmasq publishes `_mta-sts` TXT records, MX and A
 * records; a node HTTPS server on a loopback address serves the policies with a certificate from a
 * test CA (outbound.tls.ca), reached at the address our resolver gave for mta-sts.DOMAIN; aiosmtpd
 * MX hosts offer STARTTLS with certificates from that CA (or a self-signed one). Proves: in enforce
 * mode only an MX the policy names gets the mail, over TLS verified for its name, even when an MX
 * outside the policy has a lower preference; an enforce domain whose MX has no valid certificate
 * gets no delivery at all (the message stays queued, deferred with 4.7.5); testing mode delivers
 * and logs what enforce would have refused.
 */
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeSelfSignedCert, makeTestCa } from '../harness/certs.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const LAN_CLIENT = '127.0.0.10';
const POLICIES: Record<string, string> = {
  'mta-sts.sts.test': 'version: STSv1\r\nmode: enforce\r\nmx: *.sts.test\r\nmax_age: 86400\r\n',
  'mta-sts.nocert.test': 'version: STSv1\nmode: enforce\nmx: mx.nocert.test\nmax_age: 86400\n',
  'mta-sts.trial.test': 'version: STSv1\nmode: testing\nmx: mx.other.test\nmax_age: 86400\n',
};

describe('MTA-STS', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let good: LanSmtpdHandle;
  let outside: SmtpSinkHandle;
  let selfSigned: LanSmtpdHandle;
  let trial: SmtpSinkHandle;
  let lan: SmtpSinkHandle;
  let https: Server;
  let gw: GatewayProcess;
  const fetched: string[] = [];

  beforeAll(async () => {
    dir = await makeScratchDir();
    const ca = await makeTestCa();
    const policyCert = await ca.issue(['mta-sts.sts.test', 'mta-sts.nocert.test', 'mta-sts.trial.test']);
    const mxCert = await ca.issue(['mx.sts.test']);
    const rogue = await makeSelfSignedCert({ commonName: 'mx.nocert.test' });
    const httpsPort = await freePort('127.0.0.41');
    https = createServer({ cert: policyCert.cert, key: policyCert.key }, (req, res) => {
      const host = String(req.headers.host ?? '');
      fetched.push(`${host}${req.url ?? ''}`);
      const body = POLICIES[host];
      if (req.url !== '/.well-known/mta-sts.txt' || body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    });
    await new Promise<void>((r) => https.listen(httpsPort, '127.0.0.41', r));
    dns = await startDnsmasq({
      hosts: [
        { name: 'mta-sts.sts.test', addresses: ['127.0.0.41'] },
        { name: 'mta-sts.nocert.test', addresses: ['127.0.0.41'] },
        { name: 'mta-sts.trial.test', addresses: ['127.0.0.41'] },
        { name: 'mx.sts.test', addresses: ['127.0.0.42'] },
        { name: 'backup.elsewhere.test', addresses: ['127.0.0.43'] },
        { name: 'mx.nocert.test', addresses: ['127.0.0.44'] },
        { name: 'mx.trial.test', addresses: ['127.0.0.45'] },
      ],
      mx: [
        // Not in the policy, and preferred: enforce mode must skip it.
        { domain: 'sts.test', exchange: 'backup.elsewhere.test', preference: 5 },
        { domain: 'sts.test', exchange: 'mx.sts.test', preference: 10 },
        { domain: 'nocert.test', exchange: 'mx.nocert.test', preference: 10 },
        { domain: 'trial.test', exchange: 'mx.trial.test', preference: 10 },
      ],
      txt: [
        { name: '_mta-sts.sts.test', text: 'v=STSv1; id=20261130T1' },
        { name: '_mta-sts.nocert.test', text: 'v=STSv1; id=1' },
        { name: '_mta-sts.trial.test', text: 'v=STSv1; id=1' },
      ],
    });
    const mxPort = await freePort('127.0.0.42');
    good = await startLanSmtpd({ host: '127.0.0.42', port: mxPort, hostname: 'mx.sts.test', tls: { certPath: mxCert.certPath, keyPath: mxCert.keyPath } });
    outside = await startSmtpSink({ host: '127.0.0.43', port: mxPort });
    selfSigned = await startLanSmtpd({ host: '127.0.0.44', port: mxPort, hostname: 'mx.nocert.test', tls: { certPath: rogue.certPath, keyPath: rogue.keyPath } });
    trial = await startSmtpSink({ host: '127.0.0.45', port: mxPort });
    lan = await startSmtpSink();
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: {
        dns: { servers: [dns.server], timeout: '2s' },
        outbound: { trustedNetworks: [`${LAN_CLIENT}/32`], smtpPort: mxPort, tls: { ca: ca.caPath }, mtaSts: { httpsPort } },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => https?.close(r));
    await stopAll();
    await removeScratchDir(dir);
  });

  const send = (to: string, subject: string) => swaks({ port: gw.port, from: 'alice@example.test', to, localAddress: LAN_CLIENT, headers: [`Subject: ${subject}`] });

  it('enforce: delivers only to an MX the policy names, over TLS verified for its name', async () => {
    const r = await send('bob@sts.test', 'sts-1');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    const [m] = await good.waitForMessages(1, 20_000);
    expect(m?.tls).toBe(true);
    expect(m?.raw.toString()).toMatch(/Subject: sts-1/);
    expect(await outside.messages()).toHaveLength(0);
    expect(fetched).toContain('mta-sts.sts.test/.well-known/mta-sts.txt');
    const sent = await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'bob@sts.test');
    expect(sent['relay']).toBe('mx.sts.test');
  });

  it('enforce: never delivers to an MX without a valid certificate; the message waits, deferred with 4.7.5', async () => {
    const r = await send('carol@nocert.test', 'nocert-1');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    const deferred = await gw.waitForEvent('delivery.deferred', (e) => e['to'] === 'carol@nocert.test');
    expect(deferred['status']).toBe('4.7.5');
    // Retries (1 s apart in tests) keep failing the same way; none of them delivers.
    await gw.waitForEvent('delivery.deferred', (e) => e['to'] === 'carol@nocert.test' && e !== deferred);
    expect(await selfSigned.messages()).toHaveLength(0);
    const cmds = await selfSigned.commands();
    expect(cmds.map((c) => c.verb)).not.toContain('MAIL');
  });

  it('testing: delivers as usual and logs what enforce mode would have refused', async () => {
    const r = await send('dave@trial.test', 'trial-1');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    await trial.waitForMessages(1, 20_000);
    const event = await gw.waitForEvent('outbound.mta-sts', (e) => e['domain'] === 'trial.test');
    expect(String(event['detail'])).toMatch(/mx\.trial\.test is not in the MTA-STS policy/);
  });

  it('uses the cached policy while the TXT id is unchanged', async () => {
    const r = await send('erin@sts.test', 'sts-2');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    await good.waitForMessages(2, 20_000);
    // Two workers, each with its own cache: at most one fetch each for two messages.
    expect(fetched.filter((f) => f.startsWith('mta-sts.sts.test')).length).toBeLessThanOrEqual(2);
  });
});
