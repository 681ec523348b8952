/**
 * The attack battery against the real gateway process, with smtp-sink as the LAN server: SMTP
 * smuggling endings (whole and split across TCP segments), STARTTLS command injection, a pipelining
 * flood, a 10 MB line without a newline, 10 000 RCPTs. Nothing smuggled may ever reach the LAN
 * server, and the gateway must keep serving with bounded memory.
 */
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../harness/certs.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { processTree, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';
import { SmtpTalk } from '../support/smtp-talk.js';
import { readFileSync } from 'node:fs';

function rssKb(pids: number[]): number {
  let total = 0;
  for (const p of pids) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return total;
}

async function openSession(port: number): Promise<SmtpTalk> {
  const t = await SmtpTalk.open(port);
  expect((await t.reply())?.code).toBe(220);
  t.line('EHLO attacker.example');
  expect((await t.reply())?.code).toBe(250);
  return t;
}

describe('attack battery', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
    const cert = await makeSelfSignedCert({ commonName: 'mx.moat.test' });
    gw = await startGateway({
      dir,
      relayPort: sink.port,
      listenTls: { cert: cert.certPath, key: cert.keyPath },
      config: { limits: { maxConnectionsPerIp: 500 } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const endings: [string, string][] = [
    ['\\n.\\n', '\n.\n'],
    ['\\r.\\r', '\r.\r'],
    ['\\n.\\r\\n', '\n.\r\n'],
    ['\\r\\n.\\n', '\r\n.\n'],
    ['\\r\\n.\\r', '\r\n.\r'],
    ['\\r\\n\\0.\\r\\n', '\r\n\0.\r\n'],
    ['\\r\\n.\\0\\r\\n', '\r\n.\0\r\n'],
    ['\\r\\n.\\r\\0\\n', '\r\n.\r\0\n'],
  ];

  for (const [name, ending] of endings) {
    for (const split of [false, true]) {
      it(`never lets a message smuggled behind ${name}${split ? ' split across segments' : ''} reach the LAN server`, async () => {
        const tag = `smuggled-${Buffer.from(name + split).toString('hex')}`;
        const t = await openSession(gw.port);
        t.line('MAIL FROM:<attacker@sender.example>');
        await t.reply();
        t.line('RCPT TO:<bob@example.test>');
        await t.reply();
        t.line('DATA');
        expect((await t.reply())?.code).toBe(354);
        const smuggled = `MAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: ${tag}\r\n\r\nsmuggled\r\n.\r\n`;
        const payload = `Subject: cover\r\n\r\ncover text${ending}${smuggled}`;
        if (split) {
          // One octet per segment around the ending: the decoder must not care where TCP cuts.
          for (const ch of payload) {
            t.send(ch);
            await new Promise<void>((r) => setImmediate(r));
          }
        } else t.send(payload);
        t.send('\r\n.\r\nQUIT\r\n');
        const replies: number[] = [];
        for (;;) {
          const r = await t.reply(10_000);
          if (!r) break;
          replies.push(r.code);
        }
        t.close();
        // Either the session was cut (521) or the content was refused (554 for NUL): never two 250s.
        expect(replies.filter((c) => c === 250).length).toBe(0);
        expect(replies.some((c) => c === 521 || c === 554)).toBe(true);
        // A sentinel sent afterwards proves the queue has drained past the attack.
        const sentinel = `sentinel-${tag}`;
        expect((await sendMessage(gw.port, 'a@sender.example', ['bob@example.test'], `Subject: ${sentinel}\r\n\r\nok\r\n`)).code).toBe(250);
        const msgs = await sink.waitForMessages(1);
        await waitForSubject(sink, sentinel);
        expect((await sink.messages()).some((m) => m.data.includes(tag) && !m.data.includes(sentinel))).toBe(false);
        expect(msgs.some((m) => m.data.includes('smuggled\n'))).toBe(false);
      });
    }
  }

  it('discards commands pipelined behind STARTTLS (CVE-2011-0411)', async () => {
    const t = await openSession(gw.port);
    // Plaintext injection in the same segment as STARTTLS.
    t.send('STARTTLS\r\nMAIL FROM:<injected@sender.example>\r\nRCPT TO:<bob@example.test>\r\n');
    expect((await t.reply())?.lines[0]).toMatch(/^220 2\.0\.0 Ready to start TLS/);
    const plain = t.detach();
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const s = SmtpTalk.wrap(secure);
    s.line('RCPT TO:<bob@example.test>');
    // Had the injected MAIL been executed after the handshake, this would be 250.
    expect((await s.reply())?.lines[0]).toMatch(/^503 /);
    s.line('EHLO attacker.example');
    const ehlo = await s.reply();
    expect(ehlo?.lines.join('\n')).not.toMatch(/STARTTLS/);
    s.line('QUIT');
    expect((await s.reply())?.code).toBe(221);
    s.close();
  });

  it('survives a pipelining flood from a client that never reads, and serves others meanwhile', async () => {
    const before = rssKb(processTree(gw.process.pid));
    const t = await openSession(gw.port);
    const burst = 'NOOP\r\n'.repeat(20_000);
    for (let i = 0; i < 25; i++) t.send(burst); // 500 000 commands, ~3 MB, replies never read
    const other = await sendMessage(gw.port, 'a@sender.example', ['bob@example.test'], 'Subject: during-flood\r\n\r\nx\r\n');
    expect(other.code).toBe(250);
    const after = rssKb(processTree(gw.process.pid));
    expect(after - before).toBeLessThan(64 * 1024);
    t.close();
  });

  it('answers a 10 MB line without a newline with 500 and keeps memory bounded', async () => {
    const before = rssKb(processTree(gw.process.pid));
    const t = await openSession(gw.port);
    const mb = Buffer.alloc(1024 * 1024, 0x41);
    for (let i = 0; i < 10; i++) t.send(mb);
    t.send('\r\n');
    expect((await t.reply(30_000))?.lines[0]).toMatch(/^500 5\.5\.2 Error: line too long/);
    t.line('NOOP');
    expect((await t.reply())?.code).toBe(250);
    t.close();
    expect(rssKb(processTree(gw.process.pid)) - before).toBeLessThan(64 * 1024);
  });

  it('answers 10 000 pipelined RCPTs: the first 100 accepted, the rest 452 4.5.3', async () => {
    const t = await openSession(gw.port);
    t.line('MAIL FROM:<a@sender.example>');
    expect((await t.reply())?.code).toBe(250);
    let batch = '';
    for (let i = 0; i < 10_000; i++) batch += `RCPT TO:<user${i}@example.test>\r\n`;
    t.send(batch);
    const codes = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const r = await t.reply(30_000);
      if (!r) break;
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
    expect(codes.get(250)).toBe(100);
    expect(codes.get(452)).toBe(9_900);
    t.line('RSET');
    expect((await t.reply())?.code).toBe(250);
    t.close();
  });
});

async function waitForSubject(sink: SmtpSinkHandle, subject: string): Promise<void> {
  const { waitUntil } = await import('../harness/wait.js');
  await waitUntil(async () => (await sink.messages()).some((m) => m.data.includes(subject)), { timeoutMs: 20_000, what: subject });
}
