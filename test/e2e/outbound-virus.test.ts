/**
 * Outbound safety end to end: the real gateway (supervisor + 2 workers) with a real clamd, the LAN
 * server played by swaks from a trusted address, MX hosts on loopback (smtp-sink) and dnsmasq.
 * Proves: a virus the LAN server hands over for the internet is refused in the conversation
 * (554 5.7.1) and never reaches the MX, while clean mail from the same client goes out; mail for a
 * domain that publishes a null MX (RFC 7505) is never attempted and the sender gets a DSN with
 * 5.1.10 through the LAN server.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EICAR, EICAR_SIGNATURE, startClamd, type ClamdHandle } from '../harness/clamd.js';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const LAN_CLIENT = '127.0.0.10';

describe('outbound virus blocking and null MX', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let clamd: ClamdHandle;
  let mx: SmtpSinkHandle;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let eicarFile: string;

  beforeAll(async () => {
    dir = await makeScratchDir('moat-e2e-outvirus-');
    eicarFile = join(dir, 'payroll.txt'); // not .com: the attachments check would refuse that name before clamd is asked
    await writeFile(eicarFile, EICAR);
    const mxPort = await freePort();
    dns = await startDnsmasq({
      hosts: [{ name: 'mx1.far.test', addresses: ['127.0.0.21'] }],
      mx: [
        { domain: 'far.test', exchange: 'mx1.far.test', preference: 10 },
        { domain: 'nomail.test', exchange: '.', preference: 0 },
      ],
    });
    [clamd, mx, lan] = await Promise.all([startClamd(), startSmtpSink({ host: '127.0.0.21', port: mxPort }), startSmtpSink()]);
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: {
        dns: { servers: [dns.server], timeout: '2s' },
        clamav: { address: clamd.address },
        outbound: { trustedNetworks: [`${LAN_CLIENT}/32`], smtpPort: mxPort },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const queued = (replies: readonly string[]) => replies.some((r) => /^250 2\.0\.0 Ok: queued as /.test(r));

  it('refuses a virus from the LAN server with 554 5.7.1 and sends nothing to the MX', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@example.test', to: 'bob@far.test', localAddress: LAN_CLIENT, headers: ['Subject: payroll'], extraArgs: ['--attach', `@${eicarFile}`] });
    expect(r.replies).toContain(`554 5.7.1 Message rejected: virus found (${EICAR_SIGNATURE})`);
    expect(queued(r.replies)).toBe(false);
    const ev = await gw.waitForEvent('message.rejected', (e) => e['because'] === 'VIRUS_FOUND');
    expect(ev).toMatchObject({ from: 'alice@example.test', detail: EICAR_SIGNATURE });
  });

  it('relays clean mail from the same client, and only that one', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@example.test', to: 'carol@far.test', localAddress: LAN_CLIENT, headers: ['Subject: clean-out'] });
    expect(queued(r.replies)).toBe(true);
    const [m] = await mx.waitForMessages(1, 20_000);
    expect(m?.recipients.map((x) => x.address)).toEqual(['carol@far.test']);
    expect(m?.data).toMatch(/^Subject: clean-out$/m);
    expect(await mx.messages()).toHaveLength(1);
  });

  it('never attempts a null-MX domain and bounces to the sender with 5.1.10', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@example.test', to: 'dan@nomail.test', localAddress: LAN_CLIENT, headers: ['Subject: to-nowhere'] });
    expect(queued(r.replies)).toBe(true);
    const bounced = await gw.waitForEvent('delivery.bounced', (e) => e['to'] === 'dan@nomail.test');
    expect(JSON.stringify(bounced)).toMatch(/5\.1\.10/);
    const [dsn] = await lan.waitForMessages(1, 20_000);
    expect(dsn?.mailFrom).toBe('');
    expect(dsn?.recipients.map((x) => x.address)).toEqual(['alice@example.test']);
    expect(dsn?.data).toMatch(/Status: 5\.1\.10/);
    expect(dsn?.data).toMatch(/5\.1\.10: Recipient address has null\s+MX/);
    expect((await mx.messages()).map((m) => m.data).join('\n')).not.toMatch(/to-nowhere/);
  });
});
