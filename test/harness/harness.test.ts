// Proves each peer of the harness starts, answers on loopback and is stopped again.
// Postfix needs root (its master must be started by root): those tests are skipped otherwise.
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePorts,
  makeSelfSignedCert,
  renderMasterCf,
  runSmtpSource,
  splitTxt,
  startDnsmasq,
  startLanSmtpd,
  startPostfixLan,
  startPostfixRelay,
  startProcess,
  startSlapd,
  startSmtpSink,
  runCommand,
  SLAPD_SERVICE_DN,
  SLAPD_SERVICE_PASSWORD,
  SLAPD_SUFFIX,
  stopAll,
  removeAllScratchDirs,
  renderDnsmasqConf,
  serverReplies,
  swaks,
  smtpBanner,
  tcpOpen,
  waitUntil,
  defaultRegistry,
} from './index.js';

const isRoot = process.getuid?.() === 0;

/** Sends each line in turn and collects the final line of each reply (greeting first). */
async function converse(port: number, lines: readonly string[]): Promise<string[]> {
  const sock = connect({ host: '127.0.0.1', port });
  sock.setEncoding('latin1');
  let buf = '';
  const pending: ((line: string) => void)[] = [];
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let m: RegExpExecArray | null;
    while ((m = /^(\d{3})([ -])(.*)\r?\n/.exec(buf)) !== null) {
      buf = buf.slice(m[0].length);
      if (m[2] === ' ') pending.shift()?.(`${m[1] ?? ''} ${m[3] ?? ''}`);
    }
  });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no SMTP reply within 5 s')), 5000);
      pending.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  const replies = [await next()];
  for (const l of lines) {
    const r = next();
    sock.write(`${l}\r\n`);
    replies.push(await r);
  }
  sock.destroy();
  return replies;
}

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

describe('ports and processes', () => {
  it('freePorts gives distinct ports nobody listens on', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const p of ports) expect(await tcpOpen(p, '127.0.0.1', 500)).toBe(false);
  });

  it('waitForLine sees output, stop() ends the child and unregisters it', async () => {
    const before = defaultRegistry().size;
    const p = startProcess('/bin/sh', ['-c', 'echo hello; exec sleep 30']);
    expect((await p.waitForLine(/^hel+o$/, 5000))[0]).toBe('hello');
    expect(defaultRegistry().size).toBe(before + 1);
    const exit = await p.stop({ graceMs: 2000 });
    expect(exit.signal).toBe('SIGTERM');
    expect(defaultRegistry().size).toBe(before);
  });

  it('waitForLine fails fast with the output when the child exits first', async () => {
    const p = startProcess('/bin/sh', ['-c', 'echo boom >&2; exit 3']);
    await expect(p.waitForLine(/READY/, 5000)).rejects.toThrow(/code 3[\s\S]*boom/);
  });

  it('waitUntil reports what it waited for on timeout', async () => {
    await expect(waitUntil(() => false, { timeoutMs: 50, what: 'the impossible' })).rejects.toThrow(
      /timeout after 50 ms waiting for the impossible/,
    );
  });
});

describe('dnsmasq', () => {
  const longTxt = `v=DKIM1; k=rsa; p=${'A'.repeat(392)}`;

  it('answers A, PTR, MX, TXT (split >255), DNSBL, and NXDOMAIN for unknown names', async () => {
    const dns = await startDnsmasq({
      hosts: [{ name: 'mail.example.test', addresses: ['127.0.0.10'] }],
      ptr: [{ ip: '127.0.0.11', target: 'relay.other.test' }],
      mx: [{ domain: 'example.test', exchange: 'mail.example.test', preference: 10 }],
      txt: [
        { name: 'example.test', text: 'v=spf1 ip4:127.0.0.10 -all' },
        { name: 'sel1._domainkey.example.test', text: longTxt },
        { name: 'quote.example.test', text: 'a "quoted" \\ value # not a comment' },
      ],
      dnsbl: [{ zone: 'zen.test', listed: [{ ip: '127.0.0.2', txt: 'Listed in test DNSBL' }] }],
    });
    const r = dns.resolver();
    expect(await r.resolve4('mail.example.test')).toEqual(['127.0.0.10']);
    expect(await r.reverse('127.0.0.10')).toEqual(['mail.example.test']);
    expect(await r.reverse('127.0.0.11')).toEqual(['relay.other.test']);
    expect(await r.resolveMx('example.test')).toEqual([{ exchange: 'mail.example.test', priority: 10 }]);
    expect(await r.resolveTxt('example.test')).toEqual([['v=spf1 ip4:127.0.0.10 -all']]);
    const dkim = await r.resolveTxt('sel1._domainkey.example.test');
    expect(dkim[0]?.map((c) => c.length)).toEqual(splitTxt(longTxt).map((c) => c.length));
    expect(dkim[0]?.join('')).toBe(longTxt);
    expect(await r.resolveTxt('quote.example.test')).toEqual([['a "quoted" \\ value # not a comment']]);
    expect(await r.resolve4('2.0.0.127.zen.test')).toEqual(['127.0.0.2']);
    expect(await r.resolveTxt('2.0.0.127.zen.test')).toEqual([['Listed in test DNSBL']]);
    await expect(r.resolve4('3.0.0.127.zen.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolveTxt('nonexist.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // outside the local suffixes: refused, never forwarded
    await expect(r.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
    await dns.stop();
    expect(dns.process.running).toBe(false);
  });

  it('renders local-ttl and an authoritative zone, and refuses lines dnsmasq cannot read', () => {
    const conf = renderDnsmasqConf({ localTtl: 300, authZone: { zone: 'auth.test', ttl: 30 } });
    expect(conf).toContain('local-ttl=300\n');
    expect(conf).toMatch(/^auth-server=ns\.auth\.test,lo$/m);
    expect(conf).toMatch(/^auth-ttl=30$/m);
    expect(() => renderDnsmasqConf({ txt: [{ name: 'big.test', text: ['x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250)] }] })).toThrow(/split the TXT/);
    expect(() => renderDnsmasqConf({ localTtl: -1 })).toThrow(/bad TTL/);
  });

  it('rejects a zone with a name that would inject config', async () => {
    await expect(startDnsmasq({ hosts: [{ name: 'a.test\nserver=8.8.8.8', addresses: ['127.0.0.1'] }] })).rejects.toThrow(
      /bad DNS name/,
    );
  });
});

describe('smtp-sink', () => {
  it('captures a message sent with swaks, with envelope and parameters', async () => {
    const sink = await startSmtpSink({ noXclient: true, noXforward: true });
    expect(await smtpBanner(sink.port)).toMatch(/^220 lan\.test /);
    const res = await swaks({
      port: sink.port,
      from: 'alice@example.test',
      to: ['bob@lan.test', 'carol@lan.test'],
      data: 'Subject: hello\r\n\r\nbody line\r\n.dot line\r\n',
    });
    expect(res.code).toBe(0);
    expect(res.replies).toContain('250 2.0.0 Ok');
    const [m] = await sink.waitForMessages(1);
    expect(m?.mailFrom).toBe('alice@example.test');
    expect(m?.recipients.map((r) => r.address)).toEqual(['bob@lan.test', 'carol@lan.test']);
    expect(m?.helo).toBe('client.test');
    expect(m?.data).toBe('Subject: hello\n\nbody line\n.dot line\n');
  });

  it('hard-rejects RCPT with the configured reply', async () => {
    const sink = await startSmtpSink({ hardReject: ['RCPT'], hardReply: '550 5.1.1 No such user here' });
    const res = await swaks({ port: sink.port });
    expect(res.code).not.toBe(0);
    expect(res.replies).toContain('550 5.1.1 No such user here');
    await sink.stop();
  });
});

describe('aiosmtpd LAN server', () => {
  it('advertises vendor keywords, rejects/defers by local part, saves messages and records verbs', async () => {
    const lan = await startLanSmtpd({ dsn: true });
    const res = await swaks({
      port: lan.port,
      to: ['bob@lan.test', 'reject-me@lan.test', 'defer1@lan.test'],
      data: 'Subject: t\r\n\r\nhi\r\n',
    });
    const replies = serverReplies(res.stdout);
    expect(replies).toEqual(expect.arrayContaining(['250-XEXCH50', '250-X-LINK2STATE', '250-DSN']));
    expect(replies).toContain('550 5.1.1 User unknown');
    expect(replies).toContain('451 4.3.0 Try again later');
    const [m] = await lan.waitForMessages(1);
    expect(m?.recipients.map((r) => r.address)).toEqual(['bob@lan.test']);
    expect(m?.raw.toString('latin1')).toBe('Subject: t\r\n\r\nhi\r\n');
    expect(await lan.verbs()).toEqual(['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);

    // down: connections refused; up: same port, messages kept
    await lan.down();
    expect(await tcpOpen(lan.port)).toBe(false);
    await lan.up();
    expect(await smtpBanner(lan.port)).toMatch(/^220 lan\.test/);
    expect(await lan.messages()).toHaveLength(1);
    await lan.stop();
  });

  it('keeps NOTIFY/ORCPT and RET/ENVID parameters of a message', async () => {
    const lan = await startLanSmtpd({ dsn: true });
    // swaks 20201014 has no DSN options: speak SMTP directly
    const replies = await converse(lan.port, [
      'EHLO client.test',
      'MAIL FROM:<alice@example.test> RET=HDRS ENVID=Env1',
      'RCPT TO:<bob@lan.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@lan.test',
      'DATA',
      'Subject: d\r\n\r\nx\r\n.',
      'QUIT',
    ]);
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['220', '250', '250', '250', '354', '250', '221']);
    const [m] = await lan.waitForMessages(1);
    expect(m?.mailParams).toEqual(['RET=HDRS', 'ENVID=Env1']);
    expect(m?.recipients).toEqual([{ address: 'bob@lan.test', params: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;Bob@lan.test'] }]);
    expect(m?.raw.toString('latin1')).toBe('Subject: d\r\n\r\nx\r\n');
  });

  it('offers STARTTLS with a self-signed certificate', async () => {
    const cert = await makeSelfSignedCert({ commonName: 'lan.test' });
    const lan = await startLanSmtpd({ tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    const res = await swaks({ port: lan.port, tls: true, data: 'Subject: tls\r\n\r\nx\r\n' });
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toMatch(/^<~ {2}250 2\.0\.0 Queued as/m);
    const [m] = await lan.waitForMessages(1);
    expect(m?.tls).toBe(true);
  });
});

describe('smtp-source', () => {
  it('drives 20 messages over 4 sessions into smtp-sink', async () => {
    const sink = await startSmtpSink();
    const res = await runSmtpSource({ port: sink.port, sessions: 4, messages: 20, size: 2000, from: 'load@example.test', to: 'bob@lan.test' });
    expect(res.code, res.stderr).toBe(0);
    const msgs = await sink.waitForMessages(20);
    expect(msgs).toHaveLength(20);
    expect(msgs.every((m) => m.recipients[0]?.address === 'bob@lan.test')).toBe(true);
  });
});

describe.skipIf(!isRoot)('Postfix LAN server', () => {
  it('delivers to a Maildir, rejects unknown users and other domains', async () => {
    const pf = await startPostfixLan({ mailboxes: ['bob'] });
    expect(await smtpBanner(pf.port)).toMatch(/^220 lan\.test ESMTP LAN-Postfix/);
    const ok = await swaks({ port: pf.port, to: 'bob@lan.test', data: 'Subject: to bob\r\n\r\nhi\r\n' });
    expect(ok.code, ok.stdout).toBe(0);
    const unknown = await swaks({ port: pf.port, to: 'nobody-here@lan.test' });
    expect(unknown.replies.join('\n')).toMatch(/550 5\.1\.1 .*User unknown/);
    const other = await swaks({ port: pf.port, to: 'x@elsewhere.test' });
    expect(other.replies.join('\n')).toMatch(/554 5\.7\.1 .*Relay access denied/);
    const [msg] = await pf.waitForMaildir('bob', 1);
    expect(msg).toMatch(/^Subject: to bob$/m);
    await pf.stop();
  });
});

describe.skipIf(!isRoot)('Postfix relay-only gateway', () => {
  it('master.cf moves smtp to loopback and turns chroot off', async () => {
    const out = renderMasterCf(await readFile('/etc/postfix/master.cf', 'utf8').catch(() => readFile('/usr/share/postfix/master.cf.dist', 'utf8')), 2525);
    expect(out).toMatch(/^127\.0\.0\.1:2525 inet n - n - - smtpd$/m);
    expect(out).not.toMatch(/^smtp\s+inet/m);
    expect(out).toMatch(/^smtp unix - - n - - smtp$/m);
  });

  it('relays swaks -> postfix -> smtp-sink and refuses other domains', async () => {
    const sink = await startSmtpSink({ hostname: 'lan.test' });
    const pf = await startPostfixRelay({ relayDomain: 'lan.test', nexthop: { port: sink.port } });
    const ok = await swaks({ port: pf.port, from: 'alice@example.test', to: 'bob@lan.test', data: 'Subject: relayed\r\n\r\nvia postfix\r\n' });
    expect(ok.code, ok.stdout).toBe(0);
    const denied = await swaks({ port: pf.port, to: 'someone@elsewhere.test' });
    expect(denied.replies.join('\n')).toMatch(/554 5\.7\.1 .*Relay access denied/);
    const [m] = await sink.waitForMessages(1, 20_000);
    expect(m?.mailFrom).toBe('alice@example.test');
    expect(m?.recipients.map((r) => r.address)).toEqual(['bob@lan.test']);
    expect(m?.helo).toBe('gw.test');
    expect(m?.data).toMatch(/^Subject: relayed$/m);
    await waitUntil(async () => (await pf.queueSize()) === 0, { timeoutMs: 10_000, what: 'an empty Postfix queue' });
    expect(pf.log().join('\n')).toMatch(/status=sent/);
    await pf.stop();
    expect(pf.process.running).toBe(false);
    expect(await tcpOpen(pf.port)).toBe(false);
    expect(await readFile(pf.logPath, 'utf8')).toMatch(/relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
  });
});

describe('slapd', () => {
  const search = (url: string, filter: string, password = SLAPD_SERVICE_PASSWORD): ReturnType<typeof runCommand> =>
    runCommand('/usr/bin/ldapsearch', ['-LLL', '-x', '-H', url, '-D', SLAPD_SERVICE_DN, '-w', password, '-b', SLAPD_SUFFIX, filter, 'dn'], { timeoutMs: 10_000 });

  it('serves seeded users to the service account, AD-style proxyAddresses case-insensitively, and nothing to a wrong password', async () => {
    const ldap = await startSlapd({ users: [{ id: 'bob', mail: 'bob@example.test', aliases: ['robert@example.test'] }, { id: 'carol', proxyAddresses: ['SMTP:carol@example.test', 'smtp:c.smith@example.test'] }] });
    expect((await search(ldap.url, '(mail=bob@example.test)')).stdout).toMatch(/^dn: uid=bob,ou=people,dc=example,dc=test$/m);
    expect((await search(ldap.url, '(mailLocalAddress=robert@example.test)')).stdout).toMatch(/uid=bob/);
    expect((await search(ldap.url, '(proxyAddresses=smtp:C.Smith@EXAMPLE.test)')).stdout).toMatch(/uid=carol/);
    expect((await search(ldap.url, '(mail=nobody@example.test)')).stdout.trim()).toBe('');
    const wrong = await search(ldap.url, '(mail=bob@example.test)', 'wrong');
    expect(wrong.code).toBe(49);
    expect(await ldap.binds(SLAPD_SERVICE_DN)).toBeGreaterThanOrEqual(5);
    await ldap.stop();
    expect(ldap.process.running).toBe(false);
    expect(await tcpOpen(ldap.port)).toBe(false);
  });
});
