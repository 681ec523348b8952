/**
 * The admin console's JSON API over HTTP against the real gateway (supervisor + 2 workers), swaks
 * as the client and smtp-sink as the LAN server. Users are made with the real `moat admin
 * add-user`. Proves: no default login exists before the first user; sessions are HttpOnly +
 * SameSite cookies; a state change without the CSRF token, from another Origin or by a role without
 * the permission is refused with 403; failed logins are rate-limited (429); a delivered message is
 * found in tracking with the same story `moat explain` prints; a quarantined message is previewed
 * (HTML under a no-script, nothing-remote CSP), released and reaches the LAN server; the config
 * view masks secrets; the digest's signed link releases to its recipient without a login and a
 * tampered link is refused; /metrics and /healthz still answer beside the console.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSinkHandle } from '../harness/smtp-sink.js';
import { queuedId, swaks } from '../harness/swaks.js';
import { waitUntil } from '../harness/wait.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { CONSOLE_PASSWORD, startConsoleGateway, type ConsoleGateway } from '../support/console-gateway.js';
import { addUser, ConsoleClient } from '../support/console-client.js';
import { SqliteBayesStore } from '../../src/store/sqlite/bayes.js';

const PASSWORD = CONSOLE_PASSWORD;

/** A message without a Subject: MISSING_SUBJECT scores 10 here, over the quarantine threshold (8). */
function spam(tag: string): string {
  return [
    'From: promo@sender.example',
    'To: carol@example.test',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    `Message-ID: <${tag}@sender.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    '',
    `<html><body><p>Offer ${tag}</p><script>fetch("http://127.0.0.1:9/x")</script><img src="http://127.0.0.1:9/pixel.png"></body></html>`,
    '',
  ].join('\r\n');
}

describe('admin console API on the real gateway', () => {
  let setup: ConsoleGateway | undefined;
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let base: string;
  let admin: ConsoleClient;

  beforeAll(async () => {
    setup = await startConsoleGateway({
      admin: { publicUrl: true, loginLimit: { perIp: 50, perUser: 3 } },
      config: { policy: { symbols: { MISSING_SUBJECT: { score: 10 } } }, quarantine: { digest: { enabled: true } } },
    });
    ({ dir, lan, gw, base } = setup);
    admin = new ConsoleClient(base);
  }, 120_000);
  afterAll(() => setup?.stop());

  it('has no user and no default password before the first add-user', async () => {
    const s = await admin.get('/api/session');
    expect(s.body['setupNeeded']).toBe(true);
    expect(String(s.body['setupHint'])).toContain('moat admin add-user');
    const r = await admin.login('admin', 'admin');
    expect(r.status).toBe(503);
    expect((await admin.get('/api/dashboard')).status).toBe(401);
  });

  it('logs in a user made with moat admin add-user; the cookie is HttpOnly and SameSite', async () => {
    await addUser(gw, 'root', 'admin', PASSWORD);
    await addUser(gw, 'reader', 'readonly', PASSWORD);
    await addUser(gw, 'desk', 'helpdesk', PASSWORD);
    const r = await admin.login('root', PASSWORD);
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^moat_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(r.body['user']).toMatchObject({ name: 'root', role: 'admin' });
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses a state change without the CSRF token or from another origin (403), and a foreign Host name (421)', async () => {
    const noToken = await admin.post('/api/queue/flush', {}, { csrf: false });
    expect(noToken.status).toBe(403);
    expect(noToken.body['error']).toMatch(/CSRF/);
    const foreign = await admin.post('/api/queue/flush', {}, { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    // fetch sets Host itself; node:http sends the one a DNS-rebinding page would bring.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: Number(new URL(base).port), path: '/api/session', headers: { host: `attacker.example:${new URL(base).port}`, cookie: admin.cookie ?? '' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(421);
    const ok = await admin.post('/api/queue/flush', {});
    expect(ok.status).toBe(200);
    expect((await admin.get('/api/dashboard')).status).toBe(200);
  });

  it('refuses what a role may not do: readonly cannot release, helpdesk cannot see the dashboard (403)', async () => {
    const reader = new ConsoleClient(base);
    expect((await reader.login('reader', PASSWORD)).status).toBe(200);
    expect((await reader.get('/api/dashboard')).status).toBe(200);
    expect((await reader.post('/api/queue/flush', {})).status).toBe(403);
    expect((await reader.post('/api/quarantine/bulk', { ids: ['X1'], action: 'release' })).status).toBe(403);
    const desk = new ConsoleClient(base);
    expect((await desk.login('desk', PASSWORD)).status).toBe(200);
    expect((await desk.get('/api/dashboard')).status).toBe(403);
    expect((await desk.get('/api/config')).status).toBe(403);
    expect((await desk.get('/api/quarantine')).status).toBe(200);
  });

  it('rate-limits failed logins per user name (429 after 3 failures, even with the right password)', async () => {
    await addUser(gw, 'victim', 'readonly', PASSWORD);
    const c = new ConsoleClient(base);
    for (let i = 0; i < 3; i++) expect((await c.login('victim', `wrong password ${i}`)).status).toBe(401);
    const r = await c.login('victim', PASSWORD);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('finds a delivered message in tracking with the story moat explain prints', async () => {
    const id = await queuedId(await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: console tracking test'] }));
    await waitUntil(async () => (await lan.messages()).some((m) => m.data.includes('console tracking test')), { timeoutMs: 30_000, what: 'the ham at the LAN server' });
    const found = await waitUntil(
      async () => {
        const r = await admin.get('/api/messages?subject=console%20tracking&contains=1');
        const items = r.body['items'] as { queueId: string; state: string | null }[];
        return items.find((m) => m.queueId === id && m.state === 'delivered');
      },
      { timeoutMs: 30_000, what: 'the message delivered in the log' },
    );
    expect(found).toBeDefined();
    const one = await admin.get(`/api/messages/${id}`);
    expect(one.status).toBe(200);
    const cli = await gw.cli('explain', id);
    expect(one.body['text']).toBe(cli.stdout);
    expect(String(one.body['text'])).toMatch(/delivered/);
    const dash = await admin.get('/api/dashboard?range=hour');
    expect((dash.body['totals'] as Record<string, number>)['delivered']).toBeGreaterThanOrEqual(1);
  });

  it('previews a quarantined HTML mail under a no-script CSP, releases it, and it reaches the LAN server', async () => {
    const id = await queuedId(await swaks({ port: gw.port, from: 'promo@sender.example', to: 'carol@example.test', data: spam('q1') }));
    await gw.waitForEvent('message.quarantined', (e) => e['queueId'] === id);
    const list = await admin.get('/api/quarantine');
    expect((list.body['items'] as { id: string }[]).map((x) => x.id)).toContain(id);
    const p = await admin.get(`/api/quarantine/${id}`);
    expect(p.status).toBe(200);
    expect(p.body['hasHtml']).toBe(true);
    expect(p.body['remoteImagesBlocked']).toBe(1);
    const frame = await fetch(`${base}/api/quarantine/${id}/html`, { headers: { cookie: admin.cookie ?? '' } });
    const csp = frame.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/sandbox/);
    const doc = await frame.text();
    expect(doc).toContain('Offer q1');
    expect(doc).not.toMatch(/<script|127\.0\.0\.1:9/);

    // Release and train as ham: the Bayes store has one ham more, and the message goes out.
    const rel = await admin.post(`/api/quarantine/${id}/release`, { learn: true });
    expect(rel.status).toBe(200);
    expect(rel.body['result']).toBe('released');
    const bayes = new SqliteBayesStore(join(dir, 'data', 'bayes.db'));
    try {
      expect((await bayes.totals()).ham).toBe(1);
    } finally {
      await bayes.close();
    }
    await waitUntil(async () => (await lan.messages()).some((m) => m.data.includes('Offer q1')), { timeoutMs: 30_000, what: 'the released message at the LAN server' });
  });

  it('shows the effective config and checks an edited one', async () => {
    const r = await admin.get('/api/config');
    expect(r.status).toBe(200);
    expect(String(r.body['yaml'])).toContain('MISSING_SUBJECT');
    const bad = await admin.post('/api/config/check', { yaml: 'listen: 12\n' });
    expect(bad.body['ok']).toBe(false);
  });

  it('digest links release to their recipient without a login; a tampered link is refused', async () => {
    const id = await queuedId(await swaks({ port: gw.port, from: 'promo@sender.example', to: 'carol@example.test', data: spam('d1') }));
    await gw.waitForEvent('message.quarantined', (e) => e['queueId'] === id);
    const before = (await lan.messages()).length;
    const sent = await admin.post('/api/digest/send', {});
    expect(sent.status).toBe(200);
    const digest = await waitUntil(async () => (await lan.messages()).slice(before).find((m) => m.data.includes('Subject: Quarantined mail for you') && m.recipients.some((r) => r.address === 'carol@example.test')), { timeoutMs: 30_000, what: 'the digest at the LAN server' });
    const body = (await PostalMime.parse(digest.data)).text ?? '';
    const link = /(http:\/\/[^\s"<>]+\/q\/release\?t=[\w.~%-]+)/.exec(body)?.[1] ?? '';
    expect(link, body).not.toBe('');
    const t = new URL(link).searchParams.get('t') ?? '';

    const anon = new ConsoleClient(base);
    const tampered = `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await anon.get(`/q/release?t=${encodeURIComponent(tampered)}`)).status).toBe(400);
    const refused = await fetch(`${base}/q/release`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: tampered }).toString() });
    expect(refused.status).toBe(400);

    const page = await anon.get(`/q/release?t=${encodeURIComponent(t)}`);
    expect(page.status).toBe(200);
    const ok = await fetch(`${base}/q/release`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t }).toString() });
    expect(ok.status).toBe(200);
    await waitUntil(async () => (await lan.messages()).some((m) => m.data.includes('Offer d1')), { timeoutMs: 30_000, what: 'the digest-released message at the LAN server' });
  });

  it('keeps /metrics and /healthz beside the console', async () => {
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('moat_');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/`)).headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('admin console queue actions on the real gateway', () => {
  let setup: ConsoleGateway | undefined;
  let gw: GatewayProcess;
  let admin: ConsoleClient;

  beforeAll(async () => {
    setup = await startConsoleGateway({
      // The LAN server defers every recipient: the messages stay queued with its 4xx reply.
      sink: { softReject: ['RCPT'], softReply: '451 4.3.0 LAN server busy' },
      config: { queue: { retrySchedule: ['1h'] } },
      users: { root: 'admin', reader: 'readonly' },
    });
    gw = setup.gw;
    admin = new ConsoleClient(setup.base);
    expect((await admin.login('root', PASSWORD)).status).toBe(200);
  }, 120_000);
  afterAll(() => setup?.stop());

  interface QueueItem { id: string; attempts: number; active: boolean; recipients: { status: string; lastReply: string | null }[] }
  const queued = async (): Promise<QueueItem[]> => (await admin.get('/api/queue')).body['items'] as QueueItem[];

  it('lists deferred messages with the last reply, and retries, bounces and deletes them', async () => {
    const a = await queuedId(await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: deferred a'] }));
    const b = await queuedId(await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: deferred b'] }));
    const items = await waitUntil(
      async () => {
        const q = await queued();
        return [a, b].every((id) => q.some((i) => i.id === id && i.attempts >= 1 && !i.active)) ? q : undefined;
      },
      { timeoutMs: 30_000, what: 'both messages deferred once' },
    );
    const item = items.find((i) => i.id === a);
    expect(item?.recipients[0]?.status).toBe('pending');
    expect(item?.recipients[0]?.lastReply).toMatch(/^451 4\.3\.0 LAN server busy/);

    const reader = new ConsoleClient(admin.base);
    expect((await reader.login('reader', PASSWORD)).status).toBe(200);
    expect((await reader.post(`/api/queue/${a}/delete`, {})).status).toBe(403);

    expect((await admin.post(`/api/queue/${a}/retry`, {})).status).toBe(200);
    // Bounce refuses (409) while an attempt is under way: wait until the retried attempt is over.
    await waitUntil(
      async () => {
        const i = (await queued()).find((x) => x.id === a);
        return i !== undefined && i.attempts >= 2 && !i.active;
      },
      { timeoutMs: 30_000, what: 'a second attempt after retry' },
    );

    const bounced = await admin.post(`/api/queue/${a}/bounce`, {});
    expect(bounced.status).toBe(200);
    const deleted = await admin.post(`/api/queue/${b}/delete`, {});
    expect(deleted.status).toBe(200);
    await waitUntil(async () => !(await queued()).some((i) => i.id === a || i.id === b), { timeoutMs: 30_000, what: 'both gone from the queue' });
    expect((await admin.post('/api/queue/NOSUCHID/delete', {})).status).toBe(404);
  });
});
