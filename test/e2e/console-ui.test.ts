/**
 * The console's UI end to end in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core; no browser download), against the real gateway with smtp-sink as the LAN server.
 * Logs in through the form, sees the dashboard counters, finds a message sent through the SMTP path
 * in tracking and opens its explanation, opens a quarantined HTML mail (with a script and a remote
 * image pointing at a local HTTP server that counts requests) in the sandboxed preview, releases it
 * and sees it arrive at smtp-sink and the dashboard's delivered counter move. The preview must run
 * no script and fetch nothing: the counting server must see no request. The dashboard's counters
 * move through the live stream (server-sent events), without a reload. The quarantine list's
 * select-all and row checkboxes work from the keyboard, and a bulk "block senders" puts both senders
 * on the Sender lists page and refuses their next mail. Screenshots of each page go to
 * test/out/console/ (kept out of git).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { stopAll } from '../harness/process.js';
import { queuedId, swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { ROOT, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { addUser } from '../support/console-client.js';

const PASSWORD = 'a long test password for the ui';
const SHOTS = join(ROOT, 'test', 'out', 'console');

describe('admin console in headless Chromium', () => {
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let browser: Browser;
  let page: Page;
  let bait: Server;
  let baitPort: number;
  let baitHits = 0;
  let base: string;
  let deliveredBefore = 0;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = await makeScratchDir();
    baitPort = await freePort();
    bait = createServer((_req, res) => {
      baitHits++;
      res.end('x');
    });
    await new Promise<void>((resolve) => bait.listen(baitPort, '127.0.0.1', resolve));
    lan = await startSmtpSink();
    gw = await startGateway({ dir, relayPort: lan.port, config: { policy: { symbols: { MISSING_SUBJECT: { score: 10 } } } } });
    base = `http://127.0.0.1:${gw.adminPort}`;
    await addUser(gw, 'root', 'admin', PASSWORD);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (gw?.process.running) await gw.stop();
    await stopAll();
    bait?.close();
    await removeScratchDir(dir);
  });

  // The dashboard polls every 5 s: its counters change without a reload.
  const card = async (kind: string): Promise<number> => Number(await page.locator(`.card[data-kind="${kind}"] .n`).textContent());

  it('logs in through the form and shows the dashboard', async () => {
    await page.goto(base);
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.locator('.card[data-kind="delivered"]').waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard-empty.png'), fullPage: true });
    expect(await card('delivered')).toBe(0);
  });

  it('finds a message sent through the SMTP path in tracking and shows its explanation', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: browser tracking test'] });
    const id = queuedId(r);
    expect(id).not.toBe('');
    await waitUntil(async () => (await lan.messages()).length >= 1, { timeoutMs: 30_000, what: 'the ham at smtp-sink' });
    // The live stream moves the delivered counter without a reload: the marker set before survives,
    // and the cards were last drawn from an event (data-source="sse"), not from the poll.
    await page.locator('#live[data-mode="live"]').waitFor();
    await page.evaluate(() => ((globalThis as unknown as Record<string, unknown>)['noReload'] = true));
    await waitUntil(async () => (await card('delivered')) >= 1, { timeoutMs: 30_000, what: 'the delivered counter at 1' });
    expect(await page.locator('#totals').getAttribute('data-source')).toBe('sse');
    expect(await page.evaluate(() => (globalThis as unknown as Record<string, unknown>)['noReload'])).toBe(true);
    // The chart and tables follow the event (refreshed at most every 2 s).
    await page.locator('section:has(h2:text("Verdict mix")) table').waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    deliveredBefore = await card('delivered');

    await page.getByRole('link', { name: 'Tracking' }).click();
    await page.getByLabel('Subject').fill('browser tracking');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: id }).click();
    const story = page.locator('#explain');
    await story.waitFor();
    const text = (await story.textContent()) ?? '';
    expect(text).toContain(`Queue id:  ${id}`);
    expect(text).toMatch(/delivered/);
    expect(text).toContain('browser tracking test');
    await page.screenshot({ path: join(SHOTS, 'message.png'), fullPage: true });
  });

  it('previews a quarantined HTML mail without running its script or fetching its image, releases it to smtp-sink', async () => {
    const data = [
      'From: promo@sender.example',
      'To: carol@example.test',
      'Date: Tue, 01 Dec 2026 10:00:00 +0000',
      'Message-ID: <ui-q@sender.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<html><body><p id="offer">Browser offer</p><script>fetch("http://127.0.0.1:${baitPort}/script")</script>`,
      `<img src="http://127.0.0.1:${baitPort}/pixel.png"><div style="background:url(http://127.0.0.1:${baitPort}/bg)">x</div></body></html>`,
      '',
    ].join('\r\n');
    await swaks({ port: gw.port, from: 'promo@sender.example', to: 'carol@example.test', data });
    await gw.waitForEvent('message.quarantined');

    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('link', { name: '(no subject)' }).click();
    const frame = page.frameLocator('iframe.preview');
    await frame.locator('#offer, p').first().waitFor();
    expect(await frame.locator('body').textContent()).toContain('Browser offer');
    await page.screenshot({ path: join(SHOTS, 'quarantine-preview.png'), fullPage: true });

    await page.getByRole('button', { name: 'Release', exact: true }).click();
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
    await waitUntil(async () => (await lan.messages()).some((m) => m.data.includes('Browser offer')), { timeoutMs: 30_000, what: 'the released message at smtp-sink' });
    await page.screenshot({ path: join(SHOTS, 'quarantine-after-release.png'), fullPage: true });
    expect(baitHits).toBe(0);

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await waitUntil(async () => (await card('delivered')) > deliveredBefore, { timeoutMs: 30_000, what: 'the delivered counter moving' });
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.getByRole('heading', { name: 'Queue' }).waitFor();
    await page.getByRole('link', { name: 'Config' }).click();
    await page.locator('#config').waitFor();
    await page.screenshot({ path: join(SHOTS, 'config.png'), fullPage: true });
    // A phone-sized window: the navigation wraps, the quarantine list still fits.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
    const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'quarantine-phone.png'), fullPage: true });
    expect(baitHits).toBe(0);
  });

  it('selects quarantined messages from the keyboard and bulk-blocks their senders, shown on the Sender lists page', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    for (const [from, tag] of [['bulk-a@spam-a.example', 'ka'], ['bulk-b@spam-b.example', 'kb']] as const) {
      const data = [`From: ${from}`, 'To: carol@example.test', 'Date: Tue, 01 Dec 2026 10:00:00 +0000', `Message-ID: <${tag}@x.example>`, '', `Offer ${tag}`, ''].join('\r\n');
      await swaks({ port: gw.port, from, to: 'carol@example.test', data });
    }
    await waitUntil(async () => gw.events().filter((e) => e['event'] === 'message.quarantined').length >= 3, { timeoutMs: 30_000, what: 'both quarantined' });
    // The page is on the quarantine already (phone test): filter by sender, which reloads the list.
    await page.getByLabel('Sender').fill('bulk-');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('input.select-one');
    await waitUntil(async () => (await rows.count()) === 2, { timeoutMs: 10_000, what: 'two rows' });
    const block = page.getByRole('button', { name: 'Block senders and delete' });
    expect(await block.isDisabled()).toBe(true);
    // Keyboard only: focus the select-all box, Space selects both; Tab reaches the first row, Space unselects it.
    await page.getByLabel('Select all messages shown').focus();
    await page.keyboard.press('Space');
    expect(await rows.evaluateAll((els) => els.map((e) => (e as unknown as { checked: boolean }).checked))).toEqual([true, true]);
    expect(await page.locator('#selected-count').textContent()).toBe('2 selected');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    expect(await page.locator('#selected-count').textContent()).toBe('1 selected');
    expect(await page.locator('#select-all').evaluate((e) => (e as unknown as { indeterminate: boolean }).indeterminate)).toBe(true);
    await page.keyboard.press('Space');
    expect(await page.locator('#selected-count').textContent()).toBe('2 selected');
    expect(await block.isDisabled()).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'quarantine-selected.png'), fullPage: true });
    page.once('dialog', (d) => void d.accept());
    await block.click();
    await page.getByText('The quarantine is empty.').waitFor();

    await page.getByRole('link', { name: 'Sender lists' }).click();
    await page.getByRole('heading', { name: 'Sender lists' }).waitFor();
    for (const v of ['bulk-a@spam-a.example', 'bulk-b@spam-b.example']) await page.getByRole('cell', { name: v, exact: true }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(2);
    expect(await page.locator('tbody').textContent()).toContain('root');
    await page.screenshot({ path: join(SHOTS, 'senders.png'), fullPage: true });
    const refused = await swaks({ port: gw.port, from: 'bulk-a@spam-a.example', to: 'carol@example.test', headers: ['Subject: again'] });
    expect(refused.replies).toContain('550 5.7.1 Sender address rejected: access denied');

    // Removing one from the page lets that sender through again.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove bulk-a@spam-a.example' }).click();
    await waitUntil(async () => (await page.locator('tbody tr').count()) === 1, { timeoutMs: 10_000, what: 'one entry left' });
    const again = await swaks({ port: gw.port, from: 'bulk-a@spam-a.example', to: 'bob@example.test', headers: ['Subject: again'] });
    expect(again.replies.some((x) => x.startsWith('250 2.0.0 Ok: queued as '))).toBe(true);
  });
});
