/**
 * The console's run-time sender lists and live dashboard against the real gateway (supervisor + 2
 * workers), swaks as the client and smtp-sink as the LAN server. Proves: blocking a quarantined
 * message's sender deletes the message and refuses that sender's next message in the SMTP
 * conversation with 550 5.7.1 at MAIL; allowing one releases the message and lets the sender's
 * next message (still spam by its score) through to the LAN server, marked SENDER_ALLOWLISTED;
 * bulk allow/block works and is the admin's alone (helpdesk 403); `moat senders` lists who added
 * what and when, and its block/remove apply to the running gateway at once. The live dashboard
 * (/api/events) needs a session with the view permission, sends a summary at once and another when
 * a message arrives (latency printed), sends heartbeats, refuses a stream beyond the per-user
 * bound (429) and closes its streams when the session logs out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSinkHandle } from '../harness/smtp-sink.js';
import { queuedId, swaks } from '../harness/swaks.js';
import { waitUntil } from '../harness/wait.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { CONSOLE_PASSWORD, startConsoleGateway, type ConsoleGateway } from '../support/console-gateway.js';
import { ConsoleClient, openEventStream } from '../support/console-client.js';

const PASSWORD = CONSOLE_PASSWORD;

/** No Subject: MISSING_SUBJECT scores 10 here, over the quarantine threshold (8). */
function spam(from: string, tag: string): string {
  return [`From: ${from}`, 'To: carol@example.test', 'Date: Tue, 01 Dec 2026 10:00:00 +0000', `Message-ID: <${tag}@sender.example>`, '', `Offer ${tag}`, ''].join('\r\n');
}

describe('run-time sender lists and the live dashboard on the real gateway', () => {
  let setup: ConsoleGateway | undefined;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let base: string;
  let admin: ConsoleClient;
  let desk: ConsoleClient;

  const quarantined = async (from: string, tag: string): Promise<string> => {
    const id = queuedId(await swaks({ port: gw.port, from, to: 'carol@example.test', data: spam(from, tag) }));
    await gw.waitForEvent('message.quarantined', (e) => e['queueId'] === id);
    return id;
  };
  const atLan = (tag: string) => waitUntil(async () => (await lan.messages()).find((m) => m.data.includes(`Offer ${tag}`)), { timeoutMs: 30_000, what: `Offer ${tag} at the LAN server` });

  beforeAll(async () => {
    setup = await startConsoleGateway({
      admin: { events: { heartbeat: '1s', maxStreamsPerUser: 2 } },
      config: { policy: { symbols: { MISSING_SUBJECT: { score: 10 } } } },
      users: { root: 'admin', desk: 'helpdesk' },
    });
    ({ lan, gw, base } = setup);
    admin = new ConsoleClient(base);
    desk = new ConsoleClient(base);
    expect((await admin.login('root', PASSWORD)).status).toBe(200);
    expect((await desk.login('desk', PASSWORD)).status).toBe(200);
  }, 120_000);
  afterAll(() => setup?.stop());

  it('blocks a quarantined message\'s sender: the message is deleted and the next one is refused 550 5.7.1 at MAIL', async () => {
    const id = await quarantined('promo@sender.example', 'b1');
    expect((await desk.post(`/api/quarantine/${id}/block-sender`, {})).status).toBe(403);
    const r = await admin.post(`/api/quarantine/${id}/block-sender`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, sender: 'promo@sender.example', result: 'deleted' });
    const next = await swaks({ port: gw.port, from: 'Promo@Sender.Example', to: 'carol@example.test', data: spam('promo@sender.example', 'b2') });
    expect(next.replies).toContain('550 5.7.1 Sender address rejected: access denied');
    expect(next.replies.some((x) => x.startsWith('354'))).toBe(false);
    const logged = await gw.waitForEvent('message.rejected', (e) => JSON.stringify(e).includes('SENDER_DENYLISTED'));
    expect(JSON.stringify(logged)).toContain('run-time block promo@sender.example by root');
    // Someone else is not affected.
    expect(queuedId(await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: not blocked'] }))).toMatch(/^\w+$/);
  });

  it('allows a quarantined message\'s sender: the message is released and the next spam from it reaches the LAN server', async () => {
    const id = await quarantined('friend@partner.example', 'a1');
    const r = await admin.post(`/api/quarantine/${id}/allow-sender`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ sender: 'friend@partner.example', result: 'released' });
    await atLan('a1');
    queuedId(await swaks({ port: gw.port, from: 'friend@partner.example', to: 'carol@example.test', data: spam('friend@partner.example', 'a2') }));
    const m = await atLan('a2');
    expect(m.data).toMatch(/X-Moat-Verdict: accept/);
    expect(m.data).toMatch(/X-Moat-Symbols: .*SENDER_ALLOWLISTED/);
  });

  it('bulk-blocks the senders of selected messages (admin only) and lists every entry with who added it and when', async () => {
    const a = await quarantined('bulk1@spam-a.example', 'k1');
    const b = await quarantined('bulk2@spam-b.example', 'k2');
    expect((await desk.post('/api/quarantine/bulk', { ids: [a, b], action: 'block-sender' })).status).toBe(403);
    const r = await admin.post('/api/quarantine/bulk', { ids: [a, b], action: 'block-sender' });
    expect(r.status).toBe(200);
    expect(r.body['results']).toEqual({ [a]: 'bulk1@spam-a.example blocked; deleted', [b]: 'bulk2@spam-b.example blocked; deleted' });
    const list = await admin.get('/api/senders');
    const items = list.body['items'] as { list: string; value: string; addedBy: string; addedAt: number; note: string }[];
    expect(items.map((e) => [e.list, e.value, e.addedBy])).toEqual([
      ['block', 'bulk2@spam-b.example', 'root'],
      ['block', 'bulk1@spam-a.example', 'root'],
      ['allow', 'friend@partner.example', 'root'],
      ['block', 'promo@sender.example', 'root'],
    ]);
    expect(items[0]?.note).toBe(`from quarantine ${b}`);
    expect(Date.now() - (items[0]?.addedAt ?? 0)).toBeLessThan(60_000);
    expect((await swaks({ port: gw.port, from: 'bulk2@spam-b.example', to: 'carol@example.test', headers: ['Subject: x'] })).replies).toContain('550 5.7.1 Sender address rejected: access denied');
    // The page's own add and remove: a domain entry, by the admin; helpdesk may only look... not even that (no view).
    const add = await admin.post('/api/senders', { list: 'block', value: '.spam-c.example', note: 'their subdomains' });
    expect(add.body).toMatchObject({ ok: true, applied: true, entry: { value: '.spam-c.example', list: 'block' } });
    expect((await admin.post('/api/senders', { list: 'block', value: 'not an address@' })).status).toBe(400);
    expect((await desk.get('/api/senders')).status).toBe(403);
    expect((await swaks({ port: gw.port, from: 'x@mx.spam-c.example', to: 'carol@example.test', headers: ['Subject: x'] })).replies).toContain('550 5.7.1 Sender address rejected: access denied');
    const id = (add.body['entry'] as { id: number }).id;
    expect((await admin.post(`/api/senders/${id}/remove`, {})).status).toBe(200);
    expect(queuedId(await swaks({ port: gw.port, from: 'x@mx.spam-c.example', to: 'bob@example.test', headers: ['Subject: x'] }))).toMatch(/^\w+$/);
  });

  it('moat senders lists the entries, and its block and remove apply to the running gateway at once', async () => {
    const list = await gw.cli('senders', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/block\s+promo@sender\.example\s+root\s+\d{4}-\d\d-\d\dT/);
    expect(list.stdout).toMatch(/allow\s+friend@partner\.example\s+root/);
    const block = await gw.cli('senders', 'block', 'cli-spam@other.example', '--note', 'by hand');
    expect(block.code).toBe(0);
    expect(block.stdout).toContain('the running gateway applies it now');
    expect((await swaks({ port: gw.port, from: 'cli-spam@other.example', to: 'bob@example.test', headers: ['Subject: x'] })).replies).toContain('550 5.7.1 Sender address rejected: access denied');
    const json = JSON.parse((await gw.cli('senders', 'list', '--json')).stdout) as { value: string; addedBy: string; note: string }[];
    expect(json.find((e) => e.value === 'cli-spam@other.example')).toMatchObject({ addedBy: expect.stringMatching(/^cli:/) as string, note: 'by hand' });
    expect((await gw.cli('senders', 'remove', 'cli-spam@other.example')).code).toBe(0);
    expect(queuedId(await swaks({ port: gw.port, from: 'cli-spam@other.example', to: 'bob@example.test', headers: ['Subject: x'] }))).toMatch(/^\w+$/);
    expect((await gw.cli('senders', 'remove', '99999')).code).toBe(1);
    expect((await gw.cli('senders', 'block', 'no way')).code).toBe(1);
  });

  it('streams the dashboard: a summary at once, another when mail arrives, heartbeats; view permission needed', async () => {
    expect((await openEventStream(base, '/api/events', null)).status).toBe(401);
    const refused = await openEventStream(base, '/api/events', desk.cookie);
    expect(refused.status).toBe(403);
    const s = await openEventStream(base, '/api/events?range=hour', admin.cookie);
    expect(s.status).toBe(200);
    const first = await s.next((e) => e.name === 'dashboard');
    const before = JSON.parse(first.data) as { totals: Record<string, number>; queue: { size: number }; quarantine: number };
    expect(before.quarantine).toBeGreaterThanOrEqual(0);
    await s.next((e) => e.name === ':', 0, 10_000);
    // Five messages one after the other: each one's count arrives as an event, its latency measured from the 250.
    const latencies: number[] = [];
    let accepted = before.totals['accept'] ?? 0;
    for (let i = 0; i < 5; i++) {
      const from = s.events.length;
      const sent = await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: [`Subject: live ${i}`] });
      const t0 = Date.now();
      queuedId(sent);
      const moved = await s.next((e) => e.name === 'dashboard' && ((JSON.parse(e.data) as typeof before).totals['accept'] ?? 0) > accepted, from);
      accepted = (JSON.parse(moved.data) as typeof before).totals['accept'] ?? 0;
      latencies.push(moved.at - t0);
    }
    latencies.sort((a, b) => a - b);
    process.stdout.write(`SSE: accepted-counter event after the 250, ms (admin.events.interval 1s): ${latencies.join(' ')}; median ${latencies[2]}\n`);
    expect(latencies[4]).toBeLessThan(5000);
    s.close();
  });

  it('bounds the streams per user (429 beyond) and closes a session\'s streams at logout', async () => {
    const c = new ConsoleClient(base);
    expect((await c.login('root', PASSWORD)).status).toBe(200);
    const one = await openEventStream(base, '/api/events', c.cookie);
    const two = await openEventStream(base, '/api/events', admin.cookie);
    expect([one.status, two.status]).toEqual([200, 200]);
    const three = await openEventStream(base, '/api/events', c.cookie);
    expect(three.status).toBe(429);
    await three.ended;
    expect((await c.post('/api/logout', {})).status).toBe(200);
    await one.ended;
    // The other session's stream lives on.
    const n = two.events.length;
    await two.next(() => true, n, 10_000);
    two.close();
  });
});
