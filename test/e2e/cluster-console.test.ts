/**
 * The console in a cluster (issues 5 and 7): two real gateways (`moat start`, supervisor + 2
 * workers each, own dataDir and spool) sharing one real PostgreSQL (`store: postgres://…`), with
 * smtp-sink as the LAN server. Proves: a console user added with `moat admin add-user` on node A's
 * host logs in on node B (users and sessions are in PostgreSQL; a session made on A is valid on B);
 * a message sent through node A is found by node B's /api/messages with A's node name, its page
 * explains it, and B's /api/dashboard counts it (cluster-wide rollups, top sender domains and
 * clients); B's dashboard lists both nodes from their heartbeats, with A's LAN server reachable as
 * A saw it; once A is stopped, B shows it stopped and then stale after cluster.staleAfter — in the
 * API and in B's UI in headless Chromium (screenshots under test/out/cluster-console).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { smtplibSend } from '../harness/smtplib.js';
import { stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { addUser, ConsoleClient } from '../support/console-client.js';
import { ROOT, startGateway, type GatewayProcess } from '../support/gateway-process.js';

const PASSWORD = 'correct horse battery staple';
const STALE_MS = 3000;
const SHOTS = join(ROOT, 'test', 'out', 'cluster-console');

interface NodeRow {
  node: string;
  status: string;
  stale: boolean;
  workers: number;
  ready: number;
  queue: { size: number };
  relays: { target: string; reachable: boolean }[];
}

describe('the console of a two-node cluster on PostgreSQL', () => {
  let dirs: string[] = [];
  let lan: SmtpSinkHandle;
  let pg: PostgresHandle;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let onA: ConsoleClient;
  let onB: ConsoleClient;
  let browser: Browser | undefined;

  beforeAll(async () => {
    [pg, lan] = await Promise.all([startPostgres(), startSmtpSink()]);
    const store = await pg.createDatabase('moat');
    dirs = await Promise.all([makeScratchDir(), makeScratchDir()]);
    const node = (name: string, dir: string): Promise<GatewayProcess> =>
      startGateway({ dir, relayPort: lan.port, config: { node: name, store, cluster: { heartbeat: '300ms', staleAfter: `${STALE_MS}ms` } } });
    [a, b] = await Promise.all([node('node-a', dirs[0] as string), node('node-b', dirs[1] as string)]);
    onA = new ConsoleClient(`http://127.0.0.1:${a.adminPort}`);
    onB = new ConsoleClient(`http://127.0.0.1:${b.adminPort}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.process.running ? a.stop() : null, b?.process.running ? b.stop() : null]);
    await stopAll();
    await Promise.all(dirs.map((d) => removeScratchDir(d)));
  });

  it('a user added on node A logs in on node B, and a session made on A is valid on B', async () => {
    expect((await onB.get('/api/session')).body['setupNeeded']).toBe(true);
    await addUser(a, 'ops', 'admin', PASSWORD);
    expect((await b.cli('admin', 'list-users', '--json')).stdout).toContain('"name":"ops"');
    expect((await onB.login('ops', PASSWORD)).status).toBe(200);
    expect((await onA.login('ops', PASSWORD)).status).toBe(200);
    expect((await onB.login('ops', 'wrong password here')).status).toBe(401);
    // A's cookie on B: the session is in the shared store.
    const viaB = new ConsoleClient(onB.base);
    viaB.cookie = onA.cookie;
    expect((await viaB.get('/api/session')).body['user']).toMatchObject({ name: 'ops', role: 'admin' });
    // Nothing is kept per node any more (the former stop-gap file).
    expect(existsSync(join(a.dataDir, 'admin.db'))).toBe(false);
  });

  it("a message sent through node A is tracked on node B with A's name and counted by B's dashboard", async () => {
    const sent = await smtplibSend({ port: a.port, source: '127.0.0.31', from: 'carol@cluster-sender.example', to: ['bob@example.test'], data: 'Subject: tracked-across-nodes\r\n\r\nhello\r\n' });
    expect(sent.data?.[0]).toBe(250);
    const queueId = String(/queued as (\S+)/.exec(sent.data?.[1] ?? '')?.[1]);
    await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('tracked-across-nodes')), { timeoutMs: 20_000, what: 'the message at the LAN server' });
    const found = await waitUntil(
      async () => {
        const r = await onB.get('/api/messages?subject=tracked-across&contains=1');
        const items = r.body['items'] as { queueId: string; node?: string; state: string | null }[] | undefined;
        return items?.[0]?.state === 'delivered' ? items : undefined;
      },
      { timeoutMs: 20_000, what: "node A's delivered message in node B's tracking" },
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ queueId, node: 'node-a', state: 'delivered' });
    const page = await onB.get(`/api/messages/${queueId}`);
    expect(page.status).toBe(200);
    expect(page.body['story']).toMatchObject({ queueId, node: 'node-a', state: 'delivered' });
    expect(String(page.body['text'])).toContain(`Queue id:  ${queueId}  (node node-a)`);
    const dash = await waitUntil(
      async () => {
        const d = (await onB.get('/api/dashboard?range=hour')).body;
        const totals = d['totals'] as Record<string, number> | undefined;
        return (totals?.['accept'] ?? 0) >= 1 && (totals?.['delivered'] ?? 0) >= 1 ? d : undefined;
      },
      { timeoutMs: 20_000, what: "node B's dashboard to count node A's message" },
    );
    expect(dash['messageLog']).toBe(true);
    expect(dash['topSenderDomains']).toContainEqual({ value: 'cluster-sender.example', n: 1, refused: 0 });
    expect(dash['topClients']).toContainEqual({ value: '127.0.0.31', n: 1, refused: 0 });
    const relay = `127.0.0.1:${lan.port}`;
    const relays = dash['relays'] as { hosts: { host: string; last: { outcome: string } | null }[] }[];
    expect(relays[0]?.hosts).toContainEqual(expect.objectContaining({ host: relay, last: expect.objectContaining({ outcome: 'delivered' }) }));
    // The same day view from node A: one store, one answer.
    const fromA = (await onA.get('/api/dashboard?range=day')).body;
    expect((fromA['totals'] as Record<string, number>)['accept']).toBe((dash['totals'] as Record<string, number>)['accept']);
  });

  it("lists both nodes from their heartbeats, with A's own LAN server state; A stopped goes stale on B", async () => {
    const nodesOnB = async (): Promise<NodeRow[]> => ((await onB.get('/api/dashboard')).body['nodes'] as NodeRow[] | null) ?? [];
    const both = await waitUntil(
      async () => {
        const list = await nodesOnB();
        // A beat taken while A was still delivering the last test's message shows it queued: the next one does not.
        return list.length === 2 && list.every((n) => n.status === 'ok' && n.queue.size === 0) ? list : undefined;
      },
      { timeoutMs: 20_000, what: 'both nodes ok on B, with empty queues' },
    );
    expect(both.map((n) => [n.node, n.stale, n.workers, n.ready])).toEqual([
      ['node-a', false, 2, 2],
      ['node-b', false, 2, 2],
    ]);
    const nodeA = both.find((n) => n.node === 'node-a');
    expect(nodeA?.queue.size).toBe(0);
    expect(nodeA?.relays).toContainEqual({ target: `127.0.0.1:${lan.port}`, outcome: 'delivered', time: expect.any(Number), reachable: true });
    expect((await onB.get('/api/dashboard')).body['self']).toBe('node-b');

    // The same in node B's UI: the nodes table, and A's message in tracking with A's name.
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(onB.base);
    await page.getByLabel('User name').fill('ops');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#nodes tr[data-node="node-a"][data-status="ok"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#nodes tr[data-node="node-b"]').textContent()).toContain('(this node)');
    await page.screenshot({ path: join(SHOTS, 'dashboard-nodes.png'), fullPage: true });
    await page.goto(`${onB.base}/#/messages?subject=tracked-across`);
    await page.getByRole('cell', { name: 'node-a' }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SHOTS, 'tracking-node-a.png'), fullPage: true });
    await page.goto(`${onB.base}/#/dashboard`);
    await page.locator('#nodes tr[data-node="node-a"]').waitFor({ timeout: 20_000 });

    expect(await a.stop()).toBe(0);
    const stopped = (await nodesOnB()).find((n) => n.node === 'node-a');
    expect(stopped).toMatchObject({ status: 'stopped', ready: 0, stale: false });
    const t0 = Date.now();
    const stale = await waitUntil(
      async () => {
        const x = (await nodesOnB()).find((n) => n.node === 'node-a');
        return x?.stale ? x : undefined;
      },
      { timeoutMs: STALE_MS + 10_000, intervalMs: 200, what: 'node A stale on B' },
    );
    expect(stale.status).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(STALE_MS + 10_000);
    // The open dashboard shows it without a reload (it polls every 5 s).
    await page.locator('#nodes tr[data-node="node-a"][data-stale="true"]').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-node-a-stale.png'), fullPage: true });
    // B itself keeps beating.
    expect((await nodesOnB()).find((n) => n.node === 'node-b')).toMatchObject({ status: 'ok', stale: false });
  });
});
