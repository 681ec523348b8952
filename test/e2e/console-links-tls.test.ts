/**
 * What the console had built but untested: the digest recipient's self-service page and HTTPS on
 * the admin listener, against the real gateway with smtp-sink as the LAN server.
 * Self-service: the digest's signed /q/mine link lists that recipient's quarantined mail (and no
 * one else's), a POST releases one of them to smtp-sink and leaves the other; the link cannot
 * release another recipient's message; a link signed with another secret is refused (400), one
 * signed with the real secret but expired is refused (410).
 * HTTPS (admin.tls with a test certificate): the API, the live stream and /healthz answer over
 * https; the session cookie carries Secure and the __Host- prefix; plain http to that port gets
 * no HTTP answer at all.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type SelfSignedCert } from '../harness/certs.js';
import type { SmtpSinkHandle } from '../harness/smtp-sink.js';
import { queuedId, swaks } from '../harness/swaks.js';
import { waitUntil } from '../harness/wait.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { CONSOLE_PASSWORD, startConsoleGateway, type ConsoleGateway } from '../support/console-gateway.js';
import { ConsoleClient } from '../support/console-client.js';
import { signLink } from '../../src/admin/signed-link.js';

const PASSWORD = CONSOLE_PASSWORD;

function spam(from: string, to: string, tag: string): string {
  return [`From: ${from}`, `To: ${to}`, 'Date: Tue, 01 Dec 2026 10:00:00 +0000', `Message-ID: <${tag}@sender.example>`, '', `Offer ${tag}`, ''].join('\r\n');
}

const form = (base: string, path: string, fields: Record<string, string>): Promise<{ status: number; text: string }> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() }).then(async (r) => ({ status: r.status, text: await r.text() }));

describe('the digest recipient\'s self-service page', () => {
  let setup: ConsoleGateway | undefined;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let base: string;

  beforeAll(async () => {
    setup = await startConsoleGateway({
      admin: { publicUrl: true },
      config: { policy: { symbols: { MISSING_SUBJECT: { score: 10 } } }, quarantine: { digest: { enabled: true, selfService: true } } },
      users: { root: 'admin' },
    });
    ({ lan, gw, base } = setup);
  }, 120_000);
  afterAll(() => setup?.stop());

  it('lists only that recipient\'s quarantined mail, releases one to smtp-sink, refuses forged and expired links', async () => {
    const ids: Record<string, string> = {};
    for (const [from, to, tag] of [['one@promo.example', 'carol@example.test', 's1'], ['two@promo.example', 'carol@example.test', 's2'], ['three@promo.example', 'dave@example.test', 's3']] as const) {
      ids[tag] = queuedId(await swaks({ port: gw.port, from, to, data: spam(from, to, tag) }));
      await gw.waitForEvent('message.quarantined', (e) => e['queueId'] === ids[tag]);
    }
    const admin = new ConsoleClient(base);
    expect((await admin.login('root', PASSWORD)).status).toBe(200);
    expect((await admin.post('/api/digest/send', {})).status).toBe(200);
    const digest = await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('Subject: Quarantined mail for you') && m.recipients.some((r) => r.address === 'carol@example.test')), { timeoutMs: 30_000, what: "carol's digest" });
    const text = (await PostalMime.parse(digest.data)).text ?? '';
    const link = /(http:\/\/[^\s"<>]+\/q\/mine\?t=[\w.~%-]+)/.exec(text)?.[1] ?? '';
    expect(link, text).not.toBe('');
    const t = new URL(link).searchParams.get('t') ?? '';

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Quarantined mail for carol@example.test');
    expect(html).toContain('one@promo.example');
    expect(html).toContain('two@promo.example');
    expect(html).not.toContain('three@promo.example');
    expect(html).toContain(`name="id" value="${ids['s1']}"`);

    // Carol's link cannot release Dave's message.
    expect((await form(base, '/q/mine/release', { t, id: ids['s3'] as string })).status).toBe(404);
    const done = await form(base, '/q/mine/release', { t, id: ids['s1'] as string });
    expect(done.status).toBe(200);
    expect(done.text).toContain('on its way to your mailbox');
    const arrived = await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('Offer s1')), { timeoutMs: 30_000, what: 'the released message at smtp-sink' });
    expect(arrived.recipients.map((r) => r.address)).toEqual(['carol@example.test']);
    const after = await (await fetch(link)).text();
    expect(after).not.toContain('one@promo.example');
    expect(after).toContain('two@promo.example');
    expect((await lan.messages()).some((m) => m.data.includes('Offer s2') || m.data.includes('Offer s3'))).toBe(false);

    // Forged: a well-formed token signed with another secret. Expired: the real secret, a past expiry.
    const forged = signLink(Buffer.alloc(32, 7), { k: 'user', r: 'carol@example.test', e: Math.floor(Date.now() / 1000) + 3600 });
    const secret = Buffer.from((await readFile(join(gw.dataDir, 'link-secret'), 'utf8')).trim(), 'hex');
    const expired = signLink(secret, { k: 'user', r: 'carol@example.test', e: Math.floor(Date.now() / 1000) - 60 });
    const fg = await fetch(`${base}/q/mine?t=${encodeURIComponent(forged)}`);
    expect(fg.status).toBe(400);
    expect(await fg.text()).not.toContain('two@promo.example');
    expect((await fetch(`${base}/q/mine?t=${encodeURIComponent(expired)}`)).status).toBe(410);
    expect((await form(base, '/q/mine/release', { t: forged, id: ids['s2'] as string })).status).toBe(400);
    expect((await form(base, '/q/mine/release', { t: expired, id: ids['s2'] as string })).status).toBe(410);
    const still = await admin.get('/api/quarantine');
    expect((still.body['items'] as { id: string }[]).map((x) => x.id).sort()).toEqual([ids['s2'], ids['s3']].sort());
  });
});

interface HttpsAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

describe('HTTPS on the admin listener', () => {
  let setup: ConsoleGateway | undefined;
  let cert: SelfSignedCert;
  let port: number;

  const https = (method: 'GET' | 'POST', path: string, o: { cookie?: string; csrf?: string; body?: unknown; firstChunk?: boolean } = {}): Promise<HttpsAnswer> =>
    new Promise((resolve, reject) => {
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          ca: cert.cert,
          servername: 'localhost',
          headers: { ...(o.cookie ? { cookie: o.cookie } : {}), ...(o.csrf ? { 'x-csrf-token': o.csrf, origin: `https://127.0.0.1:${port}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            // A live stream never ends: its first event is enough.
            if (o.firstChunk && text.includes('event: dashboard')) {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
            }
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    setup = await startConsoleGateway({ admin: { tls: { cert: cert.certPath, key: cert.keyPath } }, users: { root: 'admin' } });
    port = setup.gw.adminPort;
  }, 120_000);
  afterAll(() => setup?.stop());

  it('serves the API over https with Secure __Host- cookies, and gives plain http no answer', async () => {
    const login = await https('POST', '/api/login', { body: { name: 'root', password: PASSWORD } });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-moat_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    const cookie = setCookie.split(';')[0] as string;
    const csrf = String((JSON.parse(login.body) as { csrf: string }).csrf);
    const me = await https('GET', '/api/session', { cookie });
    expect(JSON.parse(me.body)).toMatchObject({ user: { name: 'root', role: 'admin' } });
    expect((await https('POST', '/api/queue/flush', { cookie, csrf, body: {} })).status).toBe(200);
    expect((await https('POST', '/api/queue/flush', { cookie, body: {} })).status).toBe(403);
    const live = await https('GET', '/api/events', { cookie, firstChunk: true });
    expect(live.status).toBe(200);
    expect(live.body).toContain('event: dashboard');
    expect((await https('GET', '/healthz')).status).toBe(200);
    expect((await https('GET', '/')).headers['content-type']).toMatch(/text\/html/);

    // Plain HTTP to the HTTPS port: the TLS server drops it without an HTTP reply.
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/session' }, (res) => resolve(`answered ${res.statusCode ?? 0}`));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
      req.end();
    });
    expect(plain).toMatch(/^error (ECONNRESET|EPIPE|HPE_)/);
  });
});
