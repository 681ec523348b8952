/**
 * The gateway path with real peers: swaks → Moat (supervisor + workers) → aiosmtpd as a LAN server
 * that advertises XEXCH50 and X-LINK2STATE. Moat must never show the LAN server's banner or texts to
 * the client, never use a vendor extension, relay DSN parameters per recipient, bounce a 550 with a
 * DSN carrying the reply text, and queue through a LAN outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeSelfSignedCert } from '../harness/certs.js';
import { stopAll } from '../harness/process.js';
import { runSwaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';

describe('relay to the LAN server', () => {
  let dir: string;
  let lan: LanSmtpdHandle;
  let gw: GatewayProcess;
  // aiosmtpd refuses the null sender, so DSNs go to senders at sender.test, served by smtp-sink.
  let senders: SmtpSinkHandle;
  // A LAN server that takes no DSN requests (smtp-sink -N), for the "relayed" notice.
  let noDsn: SmtpSinkHandle;

  beforeAll(async () => {
    dir = await makeScratchDir();
    lan = await startLanSmtpd({ dsn: true });
    senders = await startSmtpSink();
    noDsn = await startSmtpSink({ noDsn: true });
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: { domains: {
        'example.test': { relay: [`127.0.0.1:${lan.port}`] },
        'sender.test': { relay: [`127.0.0.1:${senders.port}`] },
        'nodsn.test': { relay: [`127.0.0.1:${noDsn.port}`] },
      } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('relays a message over a new conversation and hides everything of the LAN server', async () => {
    const r = await runSwaks(['--server', `127.0.0.1:${gw.port}`, '--from', 'alice@sender.example', '--to', 'bob@example.test', '--header', 'Subject: relay-1', '--body', 'hello from swaks']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<-\s+250 2\.0\.0 Ok: queued as [0-9A-Z]+/);
    expect(r.stdout).not.toMatch(/lan\.test|XEXCH50|X-LINK2STATE|aiosmtpd|Python/i);
    const msgs = await lan.waitForMessages(1);
    const m = msgs.find((x) => x.raw.toString().includes('Subject: relay-1'));
    expect(m?.mailFrom).toBe('alice@sender.example');
    expect(m?.recipients.map((x) => x.address)).toEqual(['bob@example.test']);
    const raw = m?.raw.toString() ?? '';
    expect(raw).toMatch(/^Received: from [^\r\n]+\r\n\tby mx\.moat\.test with ESMTP id [0-9A-Z]+\r\n/);
    // Our trace and verdict fields come first, the message as sent after them.
    expect(raw).toMatch(/\r\nAuthentication-Results: mx\.moat\.test; none\r\nX-Moat-Score: 0 \(tag=5 quarantine=8 reject=15\)\r\nX-Moat-Verdict: accept\r\nX-Moat-Symbols: none\r\nDate: /);
    expect(raw).not.toMatch(/Moat\)|Moat [0-9]/);
    expect(m?.helo).toBe('mx.moat.test');
    const verbs = await lan.verbs();
    expect(verbs.every((v) => ['EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'RSET', 'QUIT', 'NOOP'].includes(v))).toBe(true);
    expect(verbs).not.toContain('XEXCH50');
  });

  it('relays DSN parameters per recipient (RFC 3461)', async () => {
    const r = await sendMessage(
      gw.port,
      'alice@sender.example',
      [
        { address: 'carol@example.test', params: 'NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol+2Bold@example.test' },
        { address: 'dave@example.test', params: 'ORCPT=rfc822;dave@example.test' },
      ],
      'Subject: dsn-1\r\n\r\nx\r\n',
      { mailParams: 'RET=HDRS ENVID=env-42' },
    );
    expect(r.code).toBe(250);
    await lan.waitForMessages(2);
    const m = (await lan.messages()).find((x) => x.raw.toString().includes('Subject: dsn-1'));
    expect(m?.mailParams).toEqual(expect.arrayContaining(['RET=HDRS', 'ENVID=env-42']));
    const carol = m?.recipients.find((x) => x.address === 'carol@example.test');
    const dave = m?.recipients.find((x) => x.address === 'dave@example.test');
    expect(carol?.params).toEqual(expect.arrayContaining(['NOTIFY=SUCCESS,FAILURE']));
    expect(carol?.params.join(' ')).toMatch(/ORCPT=rfc822;carol\+2Bold@example\.test/i);
    expect(dave?.params.join(' ')).toMatch(/ORCPT=rfc822;dave@example\.test/i);
    expect(dave?.params.join(' ')).not.toMatch(/NOTIFY/);
  });

  it('delivers to the accepted recipients and bounces a 550 with the LAN reply in a DSN', async () => {
    const before = (await lan.messages()).length;
    const r = await sendMessage(gw.port, 'alice@sender.test', ['erin@example.test', 'reject-me@example.test', 'frank@example.test'], 'Subject: partial-1\r\n\r\nthree recipients\r\n');
    expect(r.code).toBe(250);
    const msgs = await lan.waitForMessages(before + 1);
    const delivered = msgs.find((x) => x.raw.toString().includes('Subject: partial-1'));
    expect(delivered?.recipients.map((x) => x.address).sort()).toEqual(['erin@example.test', 'frank@example.test']);
    const dsn = await waitUntil(async () => (await senders.messages()).find((x) => x.mailFrom === '' && x.data.includes('partial-1')), { timeoutMs: 20_000, what: 'the DSN at the sender' });
    expect(dsn.recipients.map((x) => x.address)).toEqual(['alice@sender.test']);
    const text = dsn.data;
    expect(text).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(text).toMatch(/Final-Recipient: rfc822; ?reject-me@example\.test/);
    expect(text).toMatch(/Action: failed/);
    expect(text).toMatch(/Status: 5\.1\.1/);
    expect(text).toMatch(/Diagnostic-Code: smtp; ?550 5\.1\.1 User unknown/);
    expect(text).not.toMatch(/Final-Recipient: rfc822; ?erin/);
  });

  it('bounces with 5.6.7 a UTF-8 message toward a LAN server without SMTPUTF8', async () => {
    const r = await sendMessage(gw.port, 'alice@sender.test', ['jürgen@sender.test'], 'Subject: utf8-1\r\n\r\nGrüße\r\n', { mailParams: 'SMTPUTF8' });
    expect(r.code).toBe(250);
    const dsn = await waitUntil(async () => (await senders.messages()).find((x) => x.mailFrom === '' && x.data.includes('utf8-1')), { timeoutMs: 20_000, what: 'the 5.6.7 DSN' });
    expect(dsn.data).toMatch(/Status: 5\.6\.7/);
    expect(dsn.data).toMatch(/message\/global-delivery-status/);
    expect((await senders.messages()).some((m) => m.mailFrom !== '' && m.data.includes('utf8-1'))).toBe(false);
  });

  it('sends a "relayed" notice for NOTIFY=SUCCESS toward a server that takes no DSN requests', async () => {
    const r = await sendMessage(gw.port, 'alice@sender.test', [{ address: 'carol@nodsn.test', params: 'NOTIFY=SUCCESS' }], 'Subject: relayed-1\r\n\r\nx\r\n');
    expect(r.code).toBe(250);
    await noDsn.waitForMessages(1);
    const dsn = await waitUntil(async () => (await senders.messages()).find((x) => x.mailFrom === '' && x.data.includes('relayed-1')), { timeoutMs: 20_000, what: 'the relayed DSN' });
    expect(dsn.data).toMatch(/Action: relayed/);
    expect(dsn.data).toMatch(/Status: 2\.0\.0/);
    const m = (await noDsn.messages())[0];
    expect(m?.recipients[0]?.params ?? []).toEqual([]);
  });

  it('accepts STARTTLS from a real client when the listener has a certificate', async () => {
    const cert = await makeSelfSignedCert({ commonName: 'mx.moat.test' });
    const tlsDir = await makeScratchDir();
    const tgw = await startGateway({ dir: tlsDir, relayPort: lan.port, listenTls: { cert: cert.certPath, key: cert.keyPath } });
    try {
      const r = await runSwaks(['--server', `127.0.0.1:${tgw.port}`, '-tls', '--from', 'alice@sender.example', '--to', 'bob@example.test', '--header', 'Subject: over-tls']);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/<~\s+250 2\.0\.0 Ok: queued as/);
      const m = await waitUntil(async () => (await lan.messages()).find((x) => x.raw.toString().includes('Subject: over-tls')), { timeoutMs: 20_000, what: 'the TLS message' });
      expect(m.raw.toString()).toMatch(/with ESMTPS id/);
    } finally {
      await tgw.stop();
      await removeScratchDir(tlsDir);
    }
  });

  it('queues while the LAN server is down and delivers everything when it returns', async () => {
    await lan.down();
    const tags = Array.from({ length: 5 }, (_, i) => `outage-${i}`);
    for (const tag of tags) expect((await sendMessage(gw.port, 'alice@sender.example', ['bob@example.test'], `Subject: ${tag}\r\n\r\nx\r\n`)).code).toBe(250);
    await gw.waitForEvent('delivery.deferred');
    await lan.up();
    const found = await waitUntil(async () => {
      const subjects = (await lan.messages()).map((m) => /Subject: (outage-\d)/.exec(m.raw.toString())?.[1]);
      return tags.every((t) => subjects.includes(t)) && subjects;
    }, { timeoutMs: 30_000, what: 'all queued messages at the LAN server' });
    expect(found).toBeTruthy();
  });
});
