/**
 * Recipient validation end to end: swaks → Moat (supervisor + workers) with real directories and
 * LAN servers behind it. example.test is verified by asking an aiosmtpd LAN server (RCPT
 * "reject*" → 550 5.1.1, "defer*" → 451), dir.test by LDAP against slapd (mail and AD-style
 * proxyAddresses), accept.test by verification with `onUnavailable: accept`, and pf.test by
 * asking a Postfix LAN server (root only). Unknown users get 550 5.1.1 in the conversation with
 * a `message.rejected` log line naming the symbol; known users' mail reaches the LAN server; a
 * directory or LAN server that is down defers with 451 4.4.3, or accepts and delivers later. A
 * static file is read once per running check and again after SIGHUP.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { startPostfixLan, type PostfixLanHandle } from '../harness/postfix.js';
import { stopAll } from '../harness/process.js';
import { SLAPD_SERVICE_DN, SLAPD_SERVICE_PASSWORD, SLAPD_SUFFIX, startSlapd, type SlapdHandle } from '../harness/slapd.js';
import { runSwaks, type SwaksResult } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const isRoot = process.getuid?.() === 0;

describe('recipient validation through the gateway', () => {
  let dir: string;
  let lan: LanSmtpdHandle;
  let lanAccept: LanSmtpdHandle;
  let ldap: SlapdHandle;
  let pf: PostfixLanHandle | null = null;
  let gw: GatewayProcess;

  const send = (to: string, subject: string): Promise<SwaksResult> =>
    runSwaks(['--server', `127.0.0.1:${gw.port}`, '--from', 'alice@sender.example', '--to', to, '--header', `Subject: ${subject}`, '--body', 'hello']);
  /** The server's reply to RCPT in a swaks transcript. */
  const rcptReply = (r: SwaksResult): string => {
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => / -> RCPT TO:/.test(l));
    return /^<(?:-|\*\*) +(.*)$/.exec(lines[i + 1] ?? '')?.[1] ?? `no RCPT reply in:\n${r.stdout}`;
  };
  const rcptProbes = async (server: LanSmtpdHandle, address: string): Promise<number> =>
    (await server.commands()).filter((c) => c.verb === 'RCPT' && (c.arg ?? '').toLowerCase().includes(`<${address}>`)).length;

  beforeAll(async () => {
    dir = await makeScratchDir();
    lan = await startLanSmtpd();
    lanAccept = await startLanSmtpd();
    ldap = await startSlapd({ users: [{ id: 'bob', mail: 'bob@dir.test' }, { id: 'carol', proxyAddresses: ['SMTP:carol@dir.test', 'smtp:c.smith@dir.test'] }] });
    if (isRoot) pf = await startPostfixLan({ domain: 'pf.test', mailboxes: ['bob'] });
    const passwordFile = join(dir, 'ldap.password');
    await writeFile(passwordFile, `${SLAPD_SERVICE_PASSWORD}\n`, { mode: 0o600 });
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: {
        domains: {
          'example.test': { relay: [`127.0.0.1:${lan.port}`], recipients: { sources: [{ type: 'verify' }] } },
          'accept.test': { relay: [`127.0.0.1:${lanAccept.port}`], recipients: { sources: [{ type: 'verify' }], onUnavailable: 'accept' } },
          'dir.test': {
            relay: [`127.0.0.1:${lan.port}`],
            recipients: {
              sources: [
                { type: 'static', addresses: ['list@dir.test'] },
                { type: 'ldap', url: ldap.url, bindDn: SLAPD_SERVICE_DN, passwordFile, baseDn: SLAPD_SUFFIX, filter: '(|(mail=%s)(proxyAddresses=smtp:%s))', timeout: '2s' },
              ],
            },
          },
          ...(pf ? { 'pf.test': { relay: [`127.0.0.1:${pf.port}`], recipients: { sources: [{ type: 'verify' }] } } } : {}),
        },
        checks: { recipients: { verify: { timeout: '3s' } } },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('refuses an unknown user with 550 5.1.1 and logs message.rejected with the symbol', async () => {
    const r = await send('reject-nobody@example.test', 'unknown-1');
    expect(r.code).not.toBe(0);
    expect(rcptReply(r)).toBe('550 5.1.1 Recipient address rejected: User unknown');
    const e = await gw.waitForEvent('message.rejected', (x) => x['to'] === 'reject-nobody@example.test');
    expect(e).toMatchObject({ phase: 'rcptTo', because: 'RCPT_USER_UNKNOWN', reply: '550 5.1.1 Recipient address rejected: User unknown' });
    expect(String(e['detail'])).toMatch(/verify#1: 127\.0\.0\.1:\d+ said 550 5\.1\.1 User unknown/);
    // The LAN server was asked, but never got the message.
    expect(await rcptProbes(lan, 'reject-nobody@example.test')).toBe(1);
    expect((await lan.commands()).some((c) => c.verb === 'DATA')).toBe(false);
  });

  it('gives every unknown user the same reply, without the address', async () => {
    const other = await send('reject-someone.else@example.test', 'unknown-2');
    expect(rcptReply(other)).toBe('550 5.1.1 Recipient address rejected: User unknown');
    expect(other.stdout).not.toMatch(/<-.*someone\.else/);
  });

  it("delivers a known user's message to the LAN server, and a second one without a second probe", async () => {
    const first = await send('alice@example.test', 'known-1');
    expect(first.code, first.stdout).toBe(0);
    const second = await send('ALICE@example.test', 'known-2');
    expect(second.code, second.stdout).toBe(0);
    const msgs = await waitUntil(async () => {
      const m = (await lan.messages()).filter((x) => /Subject: known-[12]/.test(x.raw.toString()));
      return m.length === 2 ? m : undefined;
    }, { timeoutMs: 20_000, what: 'both messages at the LAN server' });
    expect(msgs.flatMap((m) => m.recipients.map((x) => x.address.toLowerCase()))).toEqual(['alice@example.test', 'alice@example.test']);
    // One probe (RCPT without DATA) plus one RCPT per delivery.
    expect(await rcptProbes(lan, 'alice@example.test')).toBe(3);
  });

  it('validates against LDAP: mail and proxyAddresses hits are delivered, a miss gets 550 5.1.1', async () => {
    expect((await send('bob@dir.test', 'ldap-1')).code).toBe(0);
    expect((await send('c.smith@dir.test', 'ldap-2')).code).toBe(0);
    expect((await send('list@dir.test', 'ldap-3')).code).toBe(0);
    const miss = await send('mallory@dir.test', 'ldap-4');
    expect(rcptReply(miss)).toBe('550 5.1.1 Recipient address rejected: User unknown');
    await waitUntil(async () => (await lan.messages()).filter((x) => /Subject: ldap-[123]/.test(x.raw.toString())).length === 3 || undefined, {
      timeoutMs: 20_000,
      what: 'the three LDAP-validated messages',
    });
    const e = await gw.waitForEvent('message.rejected', (x) => x['to'] === 'mallory@dir.test');
    expect(e['because']).toBe('RCPT_USER_UNKNOWN');
  });

  it('defers with 451 4.4.3 (never 5xx) while the directory is down', async () => {
    await ldap.stop();
    const r = await send('bob@dir.test', 'ldap-down');
    expect(rcptReply(r)).toBe('451 4.4.3 Recipient address cannot be verified now, try again later');
    const e = await gw.waitForEvent('message.deferred', (x) => x['to'] === 'bob@dir.test');
    expect(e).toMatchObject({ because: 'RCPT_UNVERIFIED', reply: '451 4.4.3 Recipient address cannot be verified now, try again later' });
    expect(String(e['detail'])).not.toMatch(new RegExp(SLAPD_SERVICE_PASSWORD));
    // A user of a static list before the directory still gets in.
    expect((await send('list@dir.test', 'ldap-down-static')).code).toBe(0);
  });

  it('LAN server down: an unverified user is deferred with 451 4.4.3, a cached one is still accepted', async () => {
    await lan.down();
    try {
      const r = await send('newcomer@example.test', 'lan-down-1');
      expect(rcptReply(r)).toBe('451 4.4.3 Recipient address cannot be verified now, try again later');
      const e = await gw.waitForEvent('message.deferred', (x) => x['to'] === 'newcomer@example.test');
      expect(String(e['detail'])).toMatch(/CONNECT_FAILED/);
      expect((await send('alice@example.test', 'lan-down-cached')).code).toBe(0);
    } finally {
      await lan.up();
    }
    await waitUntil(async () => (await lan.messages()).some((x) => /Subject: lan-down-cached/.test(x.raw.toString())) || undefined, {
      timeoutMs: 30_000,
      what: 'the queued message after the LAN server returned',
    });
    // Nothing was cached while it was down: now the newcomer is verified and accepted.
    expect((await send('newcomer@example.test', 'lan-down-2')).code).toBe(0);
  });

  it('onUnavailable: accept takes the mail while the LAN server is down and delivers it when it returns', async () => {
    await lanAccept.down();
    let r: SwaksResult;
    try {
      r = await send('dora@accept.test', 'accept-1');
    } finally {
      await lanAccept.up();
    }
    expect(r.code, r.stdout).toBe(0);
    const accepted = await gw.waitForEvent('message.accepted', (x) => Array.isArray(x['to']) && (x['to'] as string[]).includes('dora@accept.test'));
    expect(accepted['symbols']).toEqual(['RCPT_UNVERIFIED_ACCEPTED']);
    const m = await waitUntil(async () => (await lanAccept.messages()).find((x) => /Subject: accept-1/.test(x.raw.toString())), { timeoutMs: 30_000, what: 'the accepted message at the LAN server' });
    expect(m.recipients.map((x) => x.address)).toEqual(['dora@accept.test']);
    expect(m.raw.toString()).toMatch(/X-Moat-Symbols: RCPT_UNVERIFIED_ACCEPTED\(0\)/);
  });

  it.skipIf(!isRoot)('asks a Postfix LAN server: a known user is delivered to its Maildir, an unknown one gets 550 5.1.1', async () => {
    if (!pf) throw new Error('no Postfix');
    const ok = await send('bob@pf.test', 'postfix-1');
    expect(ok.code, ok.stdout).toBe(0);
    const [delivered] = await pf.waitForMaildir('bob', 1, 20_000);
    expect(delivered).toMatch(/Subject: postfix-1/);
    const miss = await send('mallory@pf.test', 'postfix-2');
    expect(rcptReply(miss)).toBe('550 5.1.1 Recipient address rejected: User unknown');
    const again = await send('mallory@pf.test', 'postfix-3');
    expect(rcptReply(again)).toBe('550 5.1.1 Recipient address rejected: User unknown');
    const rejects = (): number => pf?.log().filter((l) => /NOQUEUE: reject: RCPT .*<mallory@pf\.test>/.test(l)).length ?? 0;
    await waitUntil(() => rejects() >= 1 || undefined, { timeoutMs: 10_000, what: "Postfix's refusal in its log" });
    expect(rejects()).toBe(1);
  });
});

describe('a static recipient file and SIGHUP', () => {
  it('is read once by the running checks and again after a reload', async () => {
    const dir = await makeScratchDir();
    const file = join(dir, 'users.txt');
    await writeFile(file, '# users\nann@file.test\n');
    // One worker, so that "not re-read before SIGHUP" is about the one check instance there is.
    const gw = await startGateway({
      dir,
      relayPort: 9,
      config: { workers: 1, domains: { 'file.test': { relay: ['127.0.0.1:9'], recipients: { sources: [{ type: 'static', file }] } } } },
    });
    const rcpt = async (to: string): Promise<string> => {
      const r = await runSwaks(['--server', `127.0.0.1:${gw.port}`, '--from', 'alice@sender.example', '--to', to, '--quit-after', 'RCPT']);
      const lines = r.stdout.split('\n');
      return /^<(?:-|\*\*) +(\d{3})/.exec(lines[lines.findIndex((l) => / -> RCPT TO:/.test(l)) + 1] ?? '')?.[1] ?? 'none';
    };
    try {
      expect(await rcpt('ann@file.test')).toBe('250');
      expect(await rcpt('zed@file.test')).toBe('550');
      await writeFile(file, '# users\nann@file.test\nzed@file.test\n');
      expect(await rcpt('zed@file.test')).toBe('550');
      gw.process.signal('SIGHUP');
      await gw.waitForEvent('gateway.reload');
      await waitUntil(async () => (await rcpt('zed@file.test')) === '250', { timeoutMs: 10_000, what: 'zed accepted after the reload' });
    } finally {
      await gw.stop();
      await removeScratchDir(dir);
    }
  });
});
