/**
 * The envelope checks through the real gateway (supervisor + 2 workers, one shared SQLite state
 * store) with real clients, swaks and Python's smtplib, and smtp-sink as the LAN server:
 * greylisting defers a first attempt with 451 4.7.1 and lets the retry after the (short) delay
 * through, allow lists skip it, deny lists refuse at MAIL with 550 5.7.1, and a per-client message
 * rate is counted across both workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { smtplibSend, type SmtplibResult } from '../harness/smtplib.js';
import { stopAll } from '../harness/process.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const DELAY_MS = 2000;

describe('greylisting and sender lists through the gateway', () => {
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    lan = await startSmtpSink();
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: {
        checks: {
          senderLists: {
            allow: { addresses: ['friend@partner.test'] },
            deny: { addresses: ['spammer@bad.test'], clients: ['127.0.0.66'] },
          },
          greylist: { enabled: true, delay: `${DELAY_MS}ms`, retryWindow: '1h', lifetime: '1d' },
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('defers a first attempt with 451 4.7.1 and accepts a retry once the delay has passed', async () => {
    const t0 = Date.now();
    const first = await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', headers: ['Subject: grey-1'] });
    expect(first.replies).toContain('451 4.7.1 Greylisted, please try again later');
    expect(first.replies.some((r) => r.startsWith('250 2.0.0 Ok: queued'))).toBe(false);
    const deferred = await gw.waitForEvent('message.deferred', (e) => e['because'] === 'GREYLIST' && e['to'] === 'bob@example.test');
    expect(deferred).toMatchObject({ phase: 'rcptTo', from: 'alice@sender.example', reply: '451 4.7.1 Greylisted, please try again later' });

    // Retry like a queue would, until accepted (bounded by attempts' own timeouts and a deadline).
    const attempts: { end: number; r: SmtplibResult }[] = [];
    const accepted = await waitUntil(
      async () => {
        const r = await smtplibSend({ port: gw.port, from: 'alice@sender.example', to: ['bob@example.test'], data: 'Subject: grey-1\r\n\r\nretry\r\n' });
        attempts.push({ end: Date.now(), r });
        return r.data?.[0] === 250 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the greylisted retry to be accepted' },
    );
    expect(accepted.data?.[1]).toMatch(/^2\.0\.0 Ok: queued as /);
    // Every attempt that ended before the delay could have passed was deferred; the accepted one
    // cannot have come earlier than the delay after the first sight (which was after t0).
    for (const a of attempts.filter((x) => x.end < t0 + DELAY_MS)) expect(a.r.rcpt[0]?.[0]).toBe(451);
    expect((attempts.at(-1)?.end ?? 0) - t0).toBeGreaterThanOrEqual(DELAY_MS);
    for (const a of attempts.slice(0, -1)) expect(a.r.rcpt[0]).toEqual([451, '4.7.1 Greylisted, please try again later']);
    const msg = await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('retry')), { timeoutMs: 20_000, what: 'the retried message at the LAN server' });
    expect(msg.recipients.map((x) => x.address)).toEqual(['bob@example.test']);
    // Known now: the next message of the triplet passes at once.
    const again = await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test' });
    expect(again.replies.some((r) => r.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
  });

  it('greylists the null sender too', async () => {
    const r = await smtplibSend({ port: gw.port, from: '', to: ['postmaster@example.test'] });
    expect(r.mail?.[0]).toBe(250);
    expect(r.rcpt).toEqual([[451, '4.7.1 Greylisted, please try again later']]);
    expect(r.data).toBeNull();
  });

  it('lets an allow-listed sender skip greylisting on its first attempt', async () => {
    const r = await swaks({ port: gw.port, from: 'friend@partner.test', to: 'carol@example.test', headers: ['Subject: friend-1'] });
    expect(r.replies.some((x) => x.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    expect(r.replies.some((x) => x.startsWith('451'))).toBe(false);
    const ev = await gw.waitForEvent('message.accepted', (e) => e['from'] === 'friend@partner.test');
    expect(ev['symbols']).toContain('SENDER_ALLOWLISTED');
    expect(ev['action']).toBe('accept');
  });

  it('refuses a deny-listed sender and a deny-listed client at MAIL with 550 5.7.1', async () => {
    const s = await swaks({ port: gw.port, from: 'spammer@bad.test', to: 'bob@example.test' });
    expect(s.replies).toContain('550 5.7.1 Sender address rejected: access denied');
    expect(s.replies.join('\n')).not.toMatch(/spammer/);
    expect(await gw.waitForEvent('message.rejected', (e) => e['because'] === 'SENDER_DENYLISTED')).toMatchObject({ phase: 'mailFrom', from: 'spammer@bad.test' });

    const c = await smtplibSend({ port: gw.port, source: '127.0.0.66', from: 'anyone@sender.example', to: ['bob@example.test'] });
    expect(c.mail).toEqual([550, '5.7.1 Client host rejected: access denied']);
    expect(c.rcpt).toEqual([]);
    expect(await gw.waitForEvent('message.rejected', (e) => e['because'] === 'CLIENT_DENYLISTED')).toMatchObject({ client: '127.0.0.66' });
  });
});

describe('rate limits counted by the whole gateway', () => {
  const LIMIT = 5;
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    lan = await startSmtpSink();
    gw = await startGateway({ dir, relayPort: lan.port, config: { workers: 2, checks: { rateLimit: { messagesPerClient: { count: LIMIT, per: '1h' } } } } });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('accepts N messages from one client over both workers and defers the (N+1)th with 450 4.7.1', async () => {
    const client = '127.0.0.30';
    const results: SmtplibResult[] = [];
    for (let i = 0; i <= LIMIT; i++) results.push(await smtplibSend({ port: gw.port, source: client, from: `s${i}@sender.example`, to: ['bob@example.test'], data: `Subject: rate-${i}\r\n\r\nx\r\n` }));
    expect(results.slice(0, LIMIT).map((r) => r.data?.[0])).toEqual(Array(LIMIT).fill(250));
    expect(results[LIMIT]?.mail).toEqual([450, '4.7.1 Too much mail from this client, try again later']);
    const deferred = await gw.waitForEvent('message.deferred', (e) => e['because'] === 'RATE_LIMIT_CLIENT_MESSAGES');
    expect(deferred).toMatchObject({ client, phase: 'mailFrom' });
    // Both workers took some of the accepted messages, so the count was shared between them.
    const pids = new Set(gw.events().filter((e) => e['event'] === 'message.accepted' && e['client'] === client).map((e) => e['pid']));
    expect(pids.size).toBe(2);
    // Another client still has its whole budget.
    const other = await smtplibSend({ port: gw.port, source: '127.0.0.31', from: 'x@sender.example', to: ['bob@example.test'] });
    expect(other.data?.[0]).toBe(250);
  });
});
