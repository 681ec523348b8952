/**
 * Sender authentication through the real gateway: swaks sends fixture files (signed in the test with
 * keys published in dnsmasq) from 127.0.0.1 to Moat, smtp-sink plays the LAN server. A pass arrives
 * with our Authentication-Results (spf, dkim, dmarc, arc) and without the forged one that claimed our
 * authserv-id; a forged From of a p=reject domain is refused at end of data with 550 5.7.1; one of a
 * p=quarantine domain lands in quarantine. A second gateway plays the strict operator: SPF_FAIL and
 * SENDER_DOMAIN_UNROUTABLE as rejects (550 5.7.23, 550 5.1.8 at MAIL).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { runSwaks, type SwaksResult } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { message, rsaKey, sign } from '../support/dkim-keys.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const AUTH_ON = { spf: { enabled: true }, senderDomain: { enabled: true }, auth: { enabled: true } };

describe('sender authentication end to end', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;
  let strict: GatewayProcess;
  const key = rsaKey();

  beforeAll(async () => {
    dir = await makeScratchDir();
    dns = await startDnsmasq({
      hosts: [{ name: 'mail.good.test', addresses: ['127.0.0.1'] }, { name: 'mail.spam.test', addresses: ['192.0.2.9'] }],
      mx: ['good.test', 'bank.test', 'shop.test', 'spam.test'].map((domain) => ({ domain, exchange: domain === 'good.test' ? 'mail.good.test' : 'mail.spam.test', preference: 10 })),
      txt: [
        // Our client is 127.0.0.1: good.test authorizes it, the others do not.
        { name: 'good.test', text: 'v=spf1 ip4:127.0.0.1 -all' },
        { name: 'bank.test', text: 'v=spf1 ip4:192.0.2.1 -all' },
        { name: 'shop.test', text: 'v=spf1 ip4:192.0.2.1 -all' },
        { name: 'spam.test', text: 'v=spf1 ip4:192.0.2.9 -all' },
        { name: 'sel1._domainkey.good.test', text: key.record },
        { name: '_dmarc.good.test', text: 'v=DMARC1; p=reject' },
        { name: '_dmarc.bank.test', text: 'v=DMARC1; p=reject' },
        { name: '_dmarc.shop.test', text: 'v=DMARC1; p=quarantine' },
      ],
    });
    sink = await startSmtpSink();
    const common = { dns: { servers: [dns.server], timeout: '2s' }, workers: 1 };
    await mkdir(join(dir, 'lenient'));
    await mkdir(join(dir, 'strict'));
    gw = await startGateway({ dir: join(dir, 'lenient'), relayPort: sink.port, config: { ...common, checks: AUTH_ON } });
    strict = await startGateway({
      dir: join(dir, 'strict'),
      relayPort: sink.port,
      config: { ...common, checks: AUTH_ON, policy: { symbols: { SPF_FAIL: { action: 'reject' }, SENDER_DOMAIN_UNROUTABLE: { action: 'reject' } } } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await strict?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  let n = 0;
  /** Writes the fixture file and sends it with `swaks --data @file`. */
  async function send(port: number, from: string, data: string): Promise<SwaksResult> {
    const file = join(dir, `fixture-${++n}.eml`);
    await writeFile(file, data);
    return runSwaks(['--server', `127.0.0.1:${port}`, '--helo', 'client.test', '--from', from, '--to', 'bob@example.test', '--data', `@${file}`]);
  }

  const unfold = (s: string): string => s.replace(/\r?\n[ \t]/g, ' ');

  it('delivers a pass with our Authentication-Results, and drops a forged one claiming our authserv-id', async () => {
    const signed = await sign(message({ from: 'Alice <alice@good.test>', subject: 'auth-pass' }), 'good.test', 'sel1', key);
    const forged = 'Authentication-Results: mx.moat.test; dkim=pass header.d=bank.test\r\nAuthentication-Results: other.example; spf=pass smtp.mailfrom=good.test\r\n';
    const r = await send(gw.port, 'alice@good.test', forged + signed);
    expect(r.code).toBe(0);
    expect(r.replies.at(-2)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const m = await waitUntil(async () => (await sink.messages()).find((x) => x.data.includes('Subject: auth-pass')), { timeoutMs: 20_000, what: 'the pass at the LAN server' });
    const ours = unfold(m.data).split('\n').filter((l) => /^Authentication-Results: mx\.moat\.test;/i.test(l));
    expect(ours).toEqual(['Authentication-Results: mx.moat.test; spf=pass smtp.mailfrom=good.test; dkim=pass header.d=good.test header.s=sel1; dmarc=pass (p=reject) header.from=good.test; arc=none']);
    expect(m.data).not.toMatch(/header\.d=bank\.test/);
    expect(m.data).toMatch(/^Authentication-Results: other\.example; spf=pass/m);
    expect(m.data).toMatch(/^X-Moat-Symbols: .*DKIM_VALID/m);
  });

  it('refuses a forged From of a p=reject domain at end of data with 550 5.7.1', async () => {
    const r = await send(gw.port, 'x@spam.test', message({ from: 'CEO <ceo@bank.test>', subject: 'auth-forged' }));
    expect(r.replies).toContain('550 5.7.1 Message rejected: it fails the DMARC policy of bank.test');
    const e = await gw.waitForEvent('message.rejected', (x) => String(x['reason']).includes('DMARC_FAIL_REJECT'));
    expect(e['reply']).toBe('550 5.7.1 Message rejected: it fails the DMARC policy of bank.test');
    expect(e['symbols']).toEqual(expect.arrayContaining(['SPF_FAIL', 'DKIM_NONE', 'DMARC_FAIL_REJECT', 'ARC_NONE']));
  });

  it('quarantines a forged From of a p=quarantine domain (moat quarantine list shows it)', async () => {
    const r = await send(gw.port, 'x@spam.test', message({ from: 'shop@shop.test', subject: 'auth-quarantine' }));
    expect(r.code).toBe(0);
    const e = await gw.waitForEvent('message.quarantined');
    const list = await gw.cli('quarantine', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(String(e['queueId']));
    expect(list.stdout).toMatch(/<x@spam\.test>\s+<bob@example\.test>/);
    expect((await sink.messages()).some((m) => m.data.includes('auth-quarantine'))).toBe(false);
  });

  it('lets the operator reject SPF fails (550 5.7.23) and unroutable senders (550 5.1.8) at MAIL', async () => {
    const spf = await send(strict.port, 'x@bank.test', message({ from: 'x@bank.test' }));
    expect(spf.replies).toContain('550 5.7.23 SPF validation failed: bank.test does not authorize this host to send its mail');
    const fail = await strict.waitForEvent('message.rejected', (x) => x['because'] === 'SPF_FAIL');
    expect(fail['phase']).toBe('mailFrom');
    const unknown = await send(strict.port, 'x@nowhere.test', message({ from: 'x@nowhere.test' }));
    expect(unknown.replies).toContain('550 5.1.8 Sender address rejected: Domain not found');
    await strict.waitForEvent('message.rejected', (x) => x['because'] === 'SENDER_DOMAIN_UNROUTABLE');
    // A pass goes through the same strict gateway.
    const ok = await send(strict.port, 'alice@good.test', await sign(message({ from: 'alice@good.test', subject: 'auth-strict-ok' }), 'good.test', 'sel1', key));
    expect(ok.code).toBe(0);
  });
});
