/**
 * Operating the gateway: SIGHUP reloads (a bad config is refused and the old one kept), SIGTERM lets
 * an open transaction finish and exits 0, IPv4 and IPv6 listeners at once, `moat queue …` on the live
 * spool and offline, and `moat check-config`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { runCommand, stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { BIN, ROOT, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';
import { SmtpTalk } from '../support/smtp-talk.js';

async function rcptCode(port: number, rcpt: string, host = '127.0.0.1'): Promise<number> {
  const t = await SmtpTalk.open(port, host);
  try {
    await t.reply();
    t.line('EHLO c.example');
    await t.reply();
    t.line('MAIL FROM:<a@sender.example>');
    await t.reply();
    t.line(`RCPT TO:<${rcpt}>`);
    return (await t.reply())?.code ?? 0;
  } finally {
    t.close();
  }
}

describe('operating the gateway', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('listens on IPv4 and IPv6 at once', async () => {
    const [p4, p6] = [await freePort(), await freePort('::1')];
    gw = await startGateway({ dir, relayPort: sink.port, port: p4, config: { listen: [{ address: `127.0.0.1:${p4}` }, { address: `[::1]:${p6}` }] } });
    expect(await rcptCode(p4, 'bob@example.test')).toBe(250);
    expect(await rcptCode(p6, 'bob@example.test', '::1')).toBe(250);
    expect((await sendMessage(p6, 'a@sender.example', ['bob@example.test'], 'Subject: over-v6\r\n\r\nx\r\n', { host: '::1' })).code).toBe(250);
    await waitUntil(async () => (await sink.messages()).some((m) => m.data.includes('over-v6')), { timeoutMs: 20_000, what: 'v6 message' });
    expect(await gw.stop()).toBe(0);
  });

  it('reloads on SIGHUP, and keeps the old config when the new one is bad', async () => {
    gw = await startGateway({ dir, relayPort: sink.port });
    expect(await rcptCode(gw.port, 'x@new.test')).toBe(554);
    await gw.rewriteConfig({ domains: { 'example.test': { relay: [`127.0.0.1:${sink.port}`] }, 'new.test': { relay: [`127.0.0.1:${sink.port}`] } } });
    gw.process.signal('SIGHUP');
    await gw.waitForEvent('gateway.reload');
    await waitUntil(async () => (await rcptCode(gw.port, 'x@new.test')) === 250, { timeoutMs: 10_000, what: 'new.test accepted after reload' });

    await writeFile(gw.configFile, 'hostname: [unclosed\n');
    gw.process.signal('SIGHUP');
    const refused = await gw.waitForEvent('gateway.reload-refused');
    expect(JSON.stringify(refused['errors'])).toMatch(/yaml/);
    expect(await rcptCode(gw.port, 'x@new.test')).toBe(250);
  });

  it('on SIGTERM finishes the open transaction, answers 421 after it, and exits 0', async () => {
    const t = await SmtpTalk.open(gw.port);
    await t.reply();
    t.line('EHLO c.example');
    await t.reply();
    t.line('MAIL FROM:<a@sender.example>');
    await t.reply();
    t.line('RCPT TO:<bob@example.test>');
    await t.reply();
    t.line('DATA');
    expect((await t.reply())?.code).toBe(354);
    t.send('Subject: during-shutdown\r\n\r\nfirst half\r\n');
    gw.process.signal('SIGTERM');
    // Both workers have begun draining (the session could be on either).
    await waitUntil(() => gw.events().filter((e) => e['event'] === 'gateway.stop' && e['draining'] === true).length === 2, { timeoutMs: 10_000, what: 'workers draining' });
    t.send('second half\r\n.\r\n');
    expect((await t.reply())?.lines[0]).toMatch(/^250 2\.0\.0 Ok: queued as/);
    t.line('NOOP');
    expect((await t.reply())?.lines[0]).toMatch(/^421 4\.3\.2 /);
    t.close();
    const exit = await gw.process.waitExit(30_000);
    expect(exit?.code).toBe(0);
  });

  it('lists, shows, retries and deletes queued messages, live and offline', async () => {
    const down = await freePort();
    gw = await startGateway({ dir: await makeScratchDir(), relayPort: down, config: { queue: { retrySchedule: ['1h'] } } });
    const r = await sendMessage(gw.port, 'a@sender.example', ['bob@example.test', 'carol@example.test'], 'Subject: queued\r\n\r\nx\r\n');
    const id = /queued as ([0-9A-Z]+)/.exec(r.text)?.[1] ?? '';
    expect(id).not.toBe('');
    await gw.waitForEvent('delivery.deferred', (e) => e['queueId'] === id);

    const list = await gw.cli('queue', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/2\/2 pending/);
    const show = await gw.cli('queue', 'show', id);
    expect(show.stdout).toMatch(/Recipient:\s+<carol@example\.test> pending — 127\.0\.0\.1:\d+: CONNECT_FAILED/);
    const json = JSON.parse((await gw.cli('queue', 'list', '--json')).stdout) as { ok: boolean; items: { envelope: { id: string } }[] };
    expect(json.items.map((i) => i.envelope.id)).toContain(id);
    expect((await gw.cli('queue', 'retry', id)).stdout).toContain('scheduled');
    expect((await gw.cli('queue', 'flush')).stdout).toMatch(/\d+ message\(s\) scheduled/);
    expect((await gw.cli('queue', 'show', 'NOSUCHID')).code).toBe(1);

    expect(await gw.stop()).toBe(0);
    const offline = await gw.cli('queue', 'list');
    expect(offline.stdout).toContain(id);
    expect((await gw.cli('queue', 'delete', id)).stdout).toContain('deleted');
    expect((await gw.cli('queue', 'list')).stdout).toContain('0 message(s)');
  });

  it('restarts a worker killed with SIGKILL, which resumes its spool shard', async () => {
    const lanPort = await freePort();
    const g = await startGateway({ dir: await makeScratchDir(), relayPort: lanPort });
    try {
      const r = await sendMessage(g.port, 'a@sender.example', ['bob@example.test'], 'Subject: orphan\r\n\r\nx\r\n');
      const id = /queued as ([0-9A-Z]+)/.exec(r.text)?.[1];
      const accepted = await g.waitForEvent('message.accepted', (e) => e['queueId'] === id);
      const pid = accepted['pid'] as number;
      expect(pid).not.toBe(g.process.pid);
      process.kill(pid, 'SIGKILL');
      await g.waitForEvent('worker.exit', (e) => e['signal'] === 'SIGKILL');
      await waitUntil(() => g.events().some((e) => e['event'] === 'queue.loaded' && e['pid'] !== pid), { timeoutMs: 20_000, what: 'the restarted worker loading its shard' });
      const lan = await startSmtpSink({ port: lanPort });
      await waitUntil(async () => (await lan.messages()).some((m) => m.data.includes('Subject: orphan')), { timeoutMs: 30_000, what: 'the message delivered by the new worker' });
    } finally {
      await g.stop();
    }
  });

  it('check-config prints every error with its path and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'hostname: mx\nlisten: [{address: "1.2.3.4"}]\ndomains: {}\nlimits: {maxRecipients: -1, typo: 1}\n');
    const r = await runCommand(process.execPath, [BIN, 'check-config', '--config', bad]);
    expect(r.code).toBe(1);
    for (const path of ['hostname:', 'listen[0].address:', 'domains:', 'dataDir:', 'limits.maxRecipients:', 'limits: Unrecognized key: "typo"']) expect(r.stderr).toContain(path);
    const good = await runCommand(process.execPath, [BIN, 'check-config', '--config', join(ROOT, 'moat.example.yaml')]);
    expect(good.code).toBe(0);
  });
});
