/**
 * The outbound relay end to end: the real gateway (supervisor + 2 workers) between real clients
 * (swaks, from a trusted LAN address and from outside) and real MX hosts on loopback addresses
 * (aiosmtpd and smtp-sink on 127.0.0.2x and ::1, one port: outbound.smtpPort), with MX, A, AAAA and
 * DKIM key records served by dnsmasq. Proves: no relaying for strangers (554 5.7.1); the LAN server
 * relays to the MX of lowest preference with its internal trace hidden and a DKIM signature that
 * mailauth and Perl's Mail::DKIM verify; SMTP AUTH on submission (587) and implicit TLS (465)
 * listeners only after TLS, 535 5.7.8 for a wrong password, 530 for MAIL without AUTH; an MX that
 * defers every recipient hands over to the next; an MX reachable only over IPv6; and the
 * correspondents the organization writes to skip greylisting when they answer.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { mailDkimVerify } from '../harness/mail-dkim.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';
import { authArgs, submissionListeners, writePasswordFile } from '../support/submission.js';
import { dkimTxtRecord } from '../../src/cli/outbound-commands.js';
import { createResolver, nodeStyleResolve } from '../../src/platform/dns/index.js';

const LAN_CLIENT = '127.0.0.10';

describe('outbound relay', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let mx1: LanSmtpdHandle;
  let mx2: SmtpSinkHandle;
  let flakyA: SmtpSinkHandle;
  let flakyB: SmtpSinkHandle;
  let six: SmtpSinkHandle;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let ports: { plain: number; submission: number; implicit: number };

  beforeAll(async () => {
    dir = await makeScratchDir();
    const mxPort = await freePort();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    await writeFile(join(dir, 'rsa.key'), rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await writeFile(join(dir, 'ed.key'), ed.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const txt = (domain: string, selector: string, key: typeof rsa.publicKey) => {
      const strings = [...dkimTxtRecord(domain, selector, key).matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
      return { name: `${selector}._domainkey.${domain}`, text: strings };
    };
    dns = await startDnsmasq({
      hosts: [
        { name: 'mx1.far.test', addresses: ['127.0.0.21'] },
        { name: 'mx2.far.test', addresses: ['127.0.0.22'] },
        { name: 'a.flaky.test', addresses: ['127.0.0.23'] },
        { name: 'b.flaky.test', addresses: ['127.0.0.24'] },
        { name: 'v6.six.test', addresses: ['::1'] },
      ],
      mx: [
        { domain: 'far.test', exchange: 'mx2.far.test', preference: 20 },
        { domain: 'far.test', exchange: 'mx1.far.test', preference: 10 },
        { domain: 'flaky.test', exchange: 'a.flaky.test', preference: 10 },
        { domain: 'flaky.test', exchange: 'b.flaky.test', preference: 20 },
        { domain: 'six.test', exchange: 'v6.six.test', preference: 10 },
      ],
      txt: [txt('example.test', 'sel', rsa.publicKey), txt('ed.example.test', 'ed', ed.publicKey)],
    });
    mx1 = await startLanSmtpd({ host: '127.0.0.21', port: mxPort, hostname: 'mx1.far.test' });
    mx2 = await startSmtpSink({ host: '127.0.0.22', port: mxPort, hostname: 'mx2.far.test' });
    flakyA = await startSmtpSink({ host: '127.0.0.23', port: mxPort, softReject: ['RCPT'], softReply: '450 4.2.0 Mailbox busy' });
    flakyB = await startSmtpSink({ host: '127.0.0.24', port: mxPort });
    six = await startSmtpSink({ host: '::1', port: mxPort });
    lan = await startSmtpSink();
    const passwords = join(dir, 'passwords');
    await writePasswordFile(passwords, { 'alice@example.test': 'correct horse' });
    const listeners = await submissionListeners();
    ports = listeners.ports;
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      port: ports.plain,
      config: {
        listen: listeners.listen,
        dns: { servers: [dns.server], timeout: '2s' },
        checks: { greylist: { enabled: true, delay: '1h', retryWindow: '2h', lifetime: '1d' } },
        outbound: {
          trustedNetworks: [`${LAN_CLIENT}/32`],
          smtpPort: mxPort,
          auth: { passwordFile: passwords },
          // Per account for AUTH submitters; the LAN server itself is not limited here.
          rateLimit: { messagesPerClient: { count: 2, per: '1h' }, internalNetworks: [`${LAN_CLIENT}/32`] },
          dkim: { 'example.test': { selector: 'sel', keyFile: join(dir, 'rsa.key') }, 'ed.example.test': { selector: 'ed', keyFile: join(dir, 'ed.key') } },
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const queued = (replies: readonly string[]) => replies.some((r) => /^250 2\.0\.0 Ok: queued as /.test(r));

  it('refuses relaying for a client outside trustedNetworks with 554 5.7.1', async () => {
    const r = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'bob@far.test' });
    expect(r.replies).toContain('554 5.7.1 Relay access denied');
    const r2 = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'bob@far.test', tls: true, localAddress: '127.0.0.11' });
    expect(r2.replies).toContain('554 5.7.1 Relay access denied');
  });

  it('relays the LAN server\'s mail to the MX of lowest preference, hides the LAN trace and signs it (mailauth and Mail::DKIM verify)', async () => {
    const data = [
      'Received: from ws17.corp.example ([10.1.2.3]) by exch1.corp.example with ESMTP; Mon, 30 Nov 2026 10:00:00 +0000',
      'Received: from exch1.corp.example (10.1.2.4) by exch2.corp.example (10.1.2.5) with Microsoft SMTP Server; Mon, 30 Nov 2026 10:00:01 +0000',
      'From: Alice <alice@example.test>',
      'To: bob@far.test',
      'Subject: outbound-1',
      'Date: Mon, 30 Nov 2026 10:00:00 +0000',
      'Message-ID: <outbound-1@example.test>',
      '',
      'Hello from the LAN.',
      '.dot-stuffed line',
      '',
    ].join('\r\n');
    const r = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'bob@far.test', localAddress: LAN_CLIENT, data });
    expect(queued(r.replies)).toBe(true);
    const [m] = await mx1.waitForMessages(1, 20_000);
    const raw = m?.raw ?? Buffer.alloc(0);
    const text = raw.toString();
    expect(m?.mailFrom).toBe('alice@example.test');
    expect(text).not.toMatch(/10\.1\.2\.|ws17|exch1|exch2|127\.0\.0\.10/);
    expect(text).toMatch(/\r\nReceived: by mx\.moat\.test with ESMTP id [0-9A-Z]+\r\n\tfor <bob@far\.test>; /);
    expect(text).not.toMatch(/X-Moat-|Authentication-Results:/);
    expect(text).toMatch(/^DKIM-Signature: [^\r\n]*(\r\n[ \t][^\r\n]*)*/);
    const resolver = createResolver({ servers: [dns.server], timeout: 2000, tries: 1, cache: { maxEntries: 0, minTtl: 0, maxTtl: 0, negativeTtl: 0 } });
    const verified = await dkimVerify(raw, { resolver: nodeStyleResolve(resolver) as never });
    expect(verified.results.map((x) => [x.status.result, x.signingDomain])).toEqual([['pass', 'example.test']]);
    const third = await mailDkimVerify(raw, { host: dns.host, port: dns.port });
    expect(third.overall, third.output).toBe('pass');
    expect(third.signatures[0]).toMatchObject({ result: 'pass', domain: 'example.test', selector: 'sel', algorithm: 'rsa-sha256' });
    expect(await mx2.messages()).toHaveLength(0);
  });

  it('signs mail of another domain with its Ed25519 key (RFC 8463), verified by mailauth', async () => {
    const data = 'From: eve@ed.example.test\r\nTo: carol@far.test\r\nSubject: outbound-ed\r\n\r\nEd25519 body\r\n';
    const r = await swaks({ port: ports.plain, from: 'eve@ed.example.test', to: 'carol@far.test', localAddress: LAN_CLIENT, data });
    expect(queued(r.replies)).toBe(true);
    const msgs = await mx1.waitForMessages(2, 20_000);
    const raw = msgs.find((x) => x.raw.toString().includes('outbound-ed'))?.raw ?? Buffer.alloc(0);
    // Mail::DKIM of Debian 12 (1.20230212) does not verify ed25519-sha256 yet: mailauth does.
    const resolver = createResolver({ servers: [dns.server], timeout: 2000, tries: 1, cache: { maxEntries: 0, minTtl: 0, maxTtl: 0, negativeTtl: 0 } });
    const verified = await dkimVerify(raw, { resolver: nodeStyleResolve(resolver) as never });
    expect(verified.results.map((x) => [x.status.result, x.signingDomain, (x as { algo?: string }).algo])).toEqual([['pass', 'ed.example.test', 'ed25519-sha256']]);
  });

  it('takes AUTH PLAIN on the submission listener after STARTTLS and relays for the account', async () => {
    const r = await swaks({ port: ports.submission, from: 'alice@example.test', to: 'dave@far.test', tls: true, extraArgs: [...authArgs('alice@example.test', 'correct horse'), '--header', 'Subject: submitted-1'] });
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
    expect(queued(r.replies)).toBe(true);
    await gw.waitForEvent('session.auth', (e) => e['user'] === 'alice@example.test');
    const accepted = await gw.waitForEvent('message.accepted', (e) => e['account'] === 'alice@example.test');
    expect(accepted['outbound']).toBe(true);
    const msgs = await mx1.waitForMessages(3, 20_000);
    const m = msgs.find((x) => x.raw.toString().includes('submitted-1'));
    expect(m?.raw.toString()).toMatch(/Received: by mx\.moat\.test with ESMTPSA id /);
  });

  it('refuses a wrong password with 535 5.7.8 and never logs a password', async () => {
    const r = await swaks({ port: ports.submission, from: 'alice@example.test', to: 'dave@far.test', tls: true, extraArgs: authArgs('alice@example.test', 'Tr0ub4dor&3', 'LOGIN') });
    expect(r.replies).toContain('535 5.7.8 Authentication credentials invalid');
    await gw.waitForEvent('session.auth-failed', (e) => e['user'] === 'alice@example.test');
    const all = gw.process.lines('stdout').join('\n');
    expect(all).not.toMatch(/Tr0ub4dor|correct horse/);
  });

  it('refuses AUTH before STARTTLS (538 5.7.11) and MAIL without AUTH (530) on the submission listener', async () => {
    const t = await SmtpTalk.open(ports.submission);
    try {
      await t.reply();
      t.line('EHLO client.test');
      const ehlo = await t.reply();
      expect(ehlo?.lines.join('\n')).not.toMatch(/AUTH/);
      t.line(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0correct horse').toString('base64')}`);
      expect((await t.reply())?.lines[0]).toBe('538 5.7.11 Encryption required for requested authentication mechanism');
      t.line('MAIL FROM:<alice@example.test>');
      expect((await t.reply())?.lines[0]).toBe('530 5.7.0 Must issue a STARTTLS command first');
    } finally {
      t.close();
    }
    const r = await swaks({ port: ports.submission, from: 'alice@example.test', to: 'bob@example.test', tls: true });
    expect(r.replies).toContain('530 5.7.0 Authentication required');
  });

  it('takes AUTH on the implicit-TLS listener (RFC 8314)', async () => {
    const r = await swaks({ port: ports.implicit, from: 'alice@example.test', to: 'erin@far.test', extraArgs: ['--tls-on-connect', ...authArgs('alice@example.test', 'correct horse')] });
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
    expect(queued(r.replies)).toBe(true);
  });

  it('moves on to the next MX when one defers every recipient', async () => {
    const r = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'frank@flaky.test', localAddress: LAN_CLIENT, headers: ['Subject: flaky-1'] });
    expect(queued(r.replies)).toBe(true);
    const [m] = await flakyB.waitForMessages(1, 20_000);
    expect(m?.recipients.map((x) => x.address)).toEqual(['frank@flaky.test']);
    expect(await flakyA.messages()).toHaveLength(0);
    const sent = await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'frank@flaky.test');
    expect(sent['relay']).toBe('b.flaky.test');
  });

  it('delivers to an MX that has only an IPv6 address', async () => {
    const r = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'gina@six.test', localAddress: LAN_CLIENT, headers: ['Subject: six-1'] });
    expect(queued(r.replies)).toBe(true);
    const [m] = await six.waitForMessages(1, 20_000);
    expect(m?.clientAddr).toMatch(/^(ipv6:)?::1$/i);
  });

  it('spares a correspondent the organization wrote to from greylisting', async () => {
    // carol@far.test got mail from the LAN above; a stranger from the same client network is greylisted.
    await gw.waitForEvent('delivery.sent', (e) => e['to'] === 'carol@far.test');
    const known = await swaks({ port: ports.plain, from: 'carol@far.test', to: 'bob@example.test', localAddress: '127.0.0.31' });
    expect(queued(known.replies), known.replies.join('\n')).toBe(true);
    const stranger = await swaks({ port: ports.plain, from: 'mallory@far.test', to: 'bob@example.test', localAddress: '127.0.0.31' });
    expect(stranger.replies).toContain('451 4.7.1 Greylisted, please try again later');
  });

  it('limits an account\'s outbound messages (outbound.rateLimit, the account as the client)', async () => {
    // alice@example.test sent two messages above (submission, implicit TLS): the third is over the limit.
    const r = await swaks({ port: ports.submission, from: 'alice@example.test', to: 'henry@far.test', tls: true, extraArgs: authArgs('alice@example.test', 'correct horse') });
    expect(r.replies).toContain('450 4.7.1 Too much mail from this client, try again later');
    const e = await gw.waitForEvent('message.deferred', (x) => x['because'] === 'OUTBOUND_RATE_LIMIT_CLIENT_MESSAGES');
    expect(String(e['detail'])).toMatch(/^account:alice@example\.test/);
    // The LAN server (internalNetworks of outbound.rateLimit) is not limited.
    const lanMail = await swaks({ port: ports.plain, from: 'alice@example.test', to: 'henry@far.test', localAddress: LAN_CLIENT });
    expect(queued(lanMail.replies)).toBe(true);
  });
});
