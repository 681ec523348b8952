/**
 * Connection reputation through the real gateway (supervisor + workers) with real DNS (dnsmasq)
 * and real clients (swaks, bound to loopback addresses of their own): a DNSBL-listed client is
 * refused at connect with 554 (IPv4 and IPv6 listeners), a client without reverse DNS is delivered
 * with RDNS_NONE in X-Moat-Symbols, and a client that says HELO with our own name is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

describe('connection reputation end to end', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let port6: number;

  beforeAll(async () => {
    dir = await makeScratchDir();
    dns = await startDnsmasq({
      hosts: [{ name: 'mail.sender.test', addresses: ['127.0.0.7'] }],
      // An A record without a PTR: 127.0.0.1 has no reverse DNS here.
      addresses: [{ name: 'relay.sender.test', address: '127.0.0.1' }],
      dnsbl: [
        { zone: 'bl.test', listed: [{ ip: '127.0.0.66', txt: 'listed for testing' }, { ip: '::1' }] },
        { zone: 'wl.test', listed: [{ ip: '127.0.0.7', answer: '127.0.10.1' }] },
      ],
      localSuffixes: ['test', '127.in-addr.arpa', 'ip6.arpa'],
    });
    lan = await startSmtpSink();
    const port = await freePort();
    port6 = await freePort('::1');
    gw = await startGateway({
      dir,
      port,
      relayPort: lan.port,
      config: {
        listen: [{ address: `127.0.0.1:${port}` }, { address: `[::1]:${port6}` }],
        dns: { servers: [dns.server], timeout: '2s', tries: 1 },
        checks: { dnsbl: { sites: ['bl.test*3', 'wl.test=127.0.10.[1..3]*-2'] }, rdns: { enabled: true }, helo: { enabled: true } },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('refuses a listed client at connect with 554 and logs the 5.7.1 and the list', async () => {
    const r = await swaks({ port: gw.port, localAddress: '127.0.0.66', helo: 'mail.sender.test', from: 'a@sender.test', to: 'bob@example.test' });
    expect(r.code).not.toBe(0);
    // Before EHLO the engine sends no enhanced status (RFC 2034 §3); the log line carries it.
    expect(r.replies[0]).toBe('554 Service unavailable; client [127.0.0.66] blocked using bl.test');
    expect(r.stdout).not.toMatch(/ -> EHLO/);
    const e = await gw.waitForEvent('message.rejected', (x) => x['client'] === '127.0.0.66');
    expect(e).toMatchObject({ phase: 'connect', because: 'DNSBL_THRESHOLD', reply: '554 5.7.1 Service unavailable; client [127.0.0.66] blocked using bl.test' });
    expect(e['detail']).toBe('[127.0.0.66] blocked using bl.test; score 3 >= 3: bl.test*3');
  });

  it('refuses a listed IPv6 client on an IPv6 listener (nibble query)', async () => {
    const t = await SmtpTalk.open(port6, '::1');
    try {
      const reply = await t.reply();
      expect(reply?.lines).toEqual(['554 Service unavailable; client [::1] blocked using bl.test']);
      expect(await t.closedByServer()).toBe(true);
    } finally {
      t.close();
    }
    await gw.waitForEvent('message.rejected', (x) => x['client'] === '::1' && x['because'] === 'DNSBL_THRESHOLD');
  });

  it('delivers mail from a client without reverse DNS with RDNS_NONE in X-Moat-Symbols', async () => {
    const r = await swaks({ port: gw.port, helo: 'relay.sender.test', from: 'a@sender.test', to: 'bob@example.test', headers: ['Subject: rdns-none'] });
    expect(r.code, r.stdout).toBe(0);
    const m = await waitUntil(async () => (await lan.messages()).find((x) => x.data.includes('Subject: rdns-none')), { timeoutMs: 20_000, what: 'the delivered message' });
    // smtp-sink keeps the message with LF line ends.
    expect(m.data).toMatch(/\nX-Moat-Score: 1\.5 \(tag=5 quarantine=8 reject=15\)\nX-Moat-Verdict: accept\nX-Moat-Symbols: RDNS_NONE\(1\.5\)\n/);
  });

  it('an allowlisted, forward-confirmed client with a good HELO gets a negative score', async () => {
    const r = await swaks({ port: gw.port, localAddress: '127.0.0.7', helo: 'mail.sender.test', from: 'a@sender.test', to: 'bob@example.test', headers: ['Subject: dnswl'] });
    expect(r.code, r.stdout).toBe(0);
    const m = await waitUntil(async () => (await lan.messages()).find((x) => x.data.includes('Subject: dnswl')), { timeoutMs: 20_000, what: 'the allowlisted message' });
    expect(m.data).toMatch(/\nX-Moat-Score: -2 \(tag=5 quarantine=8 reject=15\)\nX-Moat-Verdict: accept\nX-Moat-Symbols: DNSWL_WL_TEST\(-2\)\n/);
  });

  it('refuses EHLO with our own hostname (HELO_OURS) with 550 and logs 5.7.1', async () => {
    // 127.0.0.8: neither allowlisted (that would exempt it) nor listed.
    const r = await swaks({ port: gw.port, localAddress: '127.0.0.8', helo: 'mx.moat.test', from: 'a@sender.test', to: 'bob@example.test' });
    expect(r.code).not.toBe(0);
    expect(r.replies).toContain('550 Helo command rejected: that name is ours, not yours');
    const e = await gw.waitForEvent('message.rejected', (x) => x['because'] === 'HELO_OURS');
    expect(e).toMatchObject({ phase: 'helo', helo: 'mx.moat.test', client: '127.0.0.8', reply: '550 5.7.1 Helo command rejected: that name is ours, not yours' });
  });
});
