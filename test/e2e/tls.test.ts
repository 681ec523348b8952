/**
 * STARTTLS on the real gateway process, seen by OpenSSL's own client: the default settings (TLS 1.2
 * floor, server cipher order, AEAD suites only, no compression), client-initiated renegotiation
 * refused, a failed handshake ending only its own session (`session.tls-failed`), and the
 * certificate reloaded without a restart: files renamed into place, a certbot-style symlink swap,
 * a mismatched pair refused (old certificate kept), new paths by SIGHUP.
 */
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../harness/certs.js';
import { sClient, startSClient } from '../harness/openssl.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

const WORKERS = 2;

/** Subjects seen by `n` new sessions (the connections are shared out over both workers). */
async function subjects(port: number, n = 4): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await sClient({ port })).subject ?? 'none');
  return out;
}

/** Waits until every worker logged `event` for the first time after `since` log lines. */
async function everyWorker(gw: GatewayProcess, event: string, since: number): Promise<Record<string, unknown>[]> {
  return waitUntil(
    () => {
      const hits = gw.events().slice(since).filter((e) => e['event'] === event);
      return new Set(hits.map((e) => e['worker'])).size >= WORKERS && hits;
    },
    { timeoutMs: 20_000, what: `${event} from every worker` },
  );
}

describe('STARTTLS settings', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
    const cert = await makeSelfSignedCert({ commonName: 'mx.moat.test', dir: await makeScratchDir('moat-cert-') });
    gw = await startGateway({ dir, relayPort: sink.port, listenTls: { cert: cert.certPath, key: cert.keyPath }, config: { workers: WORKERS } });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('negotiates TLS 1.3 by default, TLS 1.2 with the server\'s cipher order, and nothing older or weaker', async () => {
    const t13 = await sClient({ port: gw.port });
    expect(t13.protocol, t13.output).toBe('TLSv1.3');
    expect(t13.subject).toBe('CN = mx.moat.test');
    expect(t13.output).toMatch(/Compression: NONE/);
    // The client prefers AES-256; the server's order (AES-128 first) wins.
    const t12 = await sClient({ port: gw.port, version: '1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(t12.protocol, t12.output).toBe('TLSv1.2');
    expect(t12.cipher).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    // CBC suites are not offered; TLS 1.1 is refused (the client is allowed it with SECLEVEL=0).
    expect((await sClient({ port: gw.port, version: '1.2', cipher: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' })).protocol).toBeNull();
    expect((await sClient({ port: gw.port, version: '1.1', cipher: 'DEFAULT@SECLEVEL=0' })).protocol).toBeNull();
  });

  it('refuses a client-initiated renegotiation on TLS 1.2', async () => {
    const c = startSClient({ port: gw.port, version: '1.2' });
    await c.waitForLine(/^New, TLSv1\.2, Cipher is/, 20_000);
    await c.waitForLine(/^250 /, 20_000);
    const verified = (): number => c.lines().filter((l) => /^verify return:/.test(l)).length;
    const before = verified();
    c.write('R\n');
    await c.waitForLine(/^RENEGOTIATING/, 10_000);
    // OpenSSL answers with a no_renegotiation alert and s_client gives up on the connection; a
    // server that allowed it would send its certificate again (one more "verify return").
    await c.waitForLine(/no renegotiation/, 10_000);
    expect(verified()).toBe(before);
    await c.stop({ graceMs: 2000 });
  });

  it('a client sending garbage after "220 Ready" ends only its own session', async () => {
    // A session in the middle of a transaction on the same gateway.
    const other = await SmtpTalk.open(gw.port);
    await other.reply();
    other.line('EHLO other.example');
    await other.reply();
    other.line('MAIL FROM:<a@sender.example>');
    expect((await other.reply())?.code).toBe(250);
    other.line('RCPT TO:<bob@example.test>');
    expect((await other.reply())?.code).toBe(250);

    const since = gw.events().length;
    const bad = await SmtpTalk.open(gw.port);
    await bad.reply();
    bad.line('EHLO bad.example');
    await bad.reply();
    bad.line('STARTTLS');
    expect((await bad.reply())?.code).toBe(220);
    bad.send('GET / HTTP/1.1\r\nHost: secret-value\r\n\r\n');
    expect(await bad.closedByServer(10_000)).toBe(true);
    const failed = await gw.waitForEvent('session.tls-failed', () => true, 10_000);
    expect(failed['reason']).toEqual(expect.any(String));
    expect(String(failed['reason'])).not.toMatch(/secret-value|GET/);
    expect(failed).toHaveProperty('session');
    expect(failed['client']).toBe('127.0.0.1');

    other.line('DATA');
    expect((await other.reply())?.code).toBe(354);
    other.send('Subject: after-garbage\r\n\r\nstill here\r\n.\r\n');
    expect((await other.reply())?.code).toBe(250);
    other.line('QUIT');
    other.close();
    expect((await sClient({ port: gw.port })).protocol).toBe('TLSv1.3');
    expect(gw.events().slice(since).filter((e) => e['event'] === 'worker.exit')).toEqual([]);
    await waitUntil(async () => (await sink.messages()).some((m) => m.data.includes('after-garbage')), { timeoutMs: 20_000, what: 'the message of the other session' });
  });
});

describe('certificate reload without a restart', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;
  let certDir: string;
  let pid: number;

  beforeAll(async () => {
    dir = await makeScratchDir();
    certDir = await makeScratchDir('moat-cert-');
    sink = await startSmtpSink();
    await makeSelfSignedCert({ commonName: 'first.moat.test', dir: certDir });
    gw = await startGateway({
      dir,
      relayPort: sink.port,
      listenTls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem') },
      config: { workers: WORKERS },
    });
    pid = gw.process.pid;
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
    await removeScratchDir(certDir);
  });

  it('picks up a new pair renamed into place (as acme.sh or lego do)', async () => {
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = first.moat.test'));
    const next = join(certDir, 'next');
    await mkdir(next);
    await makeSelfSignedCert({ commonName: 'second.moat.test', dir: next });
    const since = gw.events().length;
    await rename(join(next, 'key.pem'), join(certDir, 'key.pem'));
    await rename(join(next, 'cert.pem'), join(certDir, 'cert.pem'));
    const reloaded = await everyWorker(gw, 'tls.reloaded', since);
    expect(reloaded[0]?.['subject']).toBe('CN=second.moat.test');
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = second.moat.test'));
    expect(gw.process.pid).toBe(pid);
    expect(gw.process.running).toBe(true);
  });

  it('refuses a certificate that does not match the key, and keeps serving the old pair', async () => {
    const other = await makeSelfSignedCert({ commonName: 'mismatch.moat.test', dir: await makeScratchDir('moat-cert-') });
    const since = gw.events().length;
    await writeFile(join(certDir, 'cert.tmp'), other.cert);
    await rename(join(certDir, 'cert.tmp'), join(certDir, 'cert.pem'));
    const failed = await everyWorker(gw, 'tls.reload-failed', since);
    expect(String(failed[0]?.['reason'])).toMatch(/private key does not belong to the certificate/);
    expect(JSON.stringify(failed)).not.toMatch(/PRIVATE KEY/);
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = second.moat.test'));

    // SIGHUP with the same bad pair: the reload is refused and the old certificate kept.
    gw.process.signal('SIGHUP');
    const refused = await gw.waitForEvent('gateway.reload-refused', (e) => JSON.stringify(e).includes('does not belong'), 10_000);
    expect(JSON.stringify(refused['errors'])).toMatch(/listen\[0\]\.tls/);
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = second.moat.test'));
  });

  it('follows a certbot-style symlink swap in live/', async () => {
    const live = join(certDir, 'live');
    const archive = join(certDir, 'archive');
    await mkdir(live);
    await mkdir(join(archive, '1'), { recursive: true });
    await mkdir(join(archive, '2'), { recursive: true });
    await makeSelfSignedCert({ commonName: 'third.moat.test', dir: join(archive, '1') });
    await symlink(join(archive, '1', 'cert.pem'), join(live, 'fullchain.pem'));
    await symlink(join(archive, '1', 'key.pem'), join(live, 'privkey.pem'));
    // New paths come with a SIGHUP (the config changed), like any other setting.
    let since = gw.events().length;
    await gw.rewriteConfig({ listen: [{ address: `127.0.0.1:${gw.port}`, tls: { cert: join(live, 'fullchain.pem'), key: join(live, 'privkey.pem') } }] });
    gw.process.signal('SIGHUP');
    await everyWorker(gw, 'tls.loaded', since);
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = third.moat.test'));

    // Renewal: certbot writes archive/…2 and renames fresh symlinks over the ones in live/.
    await makeSelfSignedCert({ commonName: 'fourth.moat.test', dir: join(archive, '2') });
    since = gw.events().length;
    for (const [target, name] of [['key.pem', 'privkey.pem'], ['cert.pem', 'fullchain.pem']] as const) {
      await symlink(join(archive, '2', target), join(live, `${name}.new`));
      await rename(join(live, `${name}.new`), join(live, name));
    }
    await everyWorker(gw, 'tls.reloaded', since);
    expect(await subjects(gw.port)).toEqual(Array(4).fill('CN = fourth.moat.test'));
    expect(gw.process.pid).toBe(pid);
  });
});
