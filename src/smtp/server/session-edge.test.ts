/**
 * The session's edge defenses with real sockets: the tarpit after errors (bounded by the session
 * deadline, reading nothing meanwhile), the error and command-rate limits, and the idle, command,
 * DATA and session deadlines against a client that trickles one octet per second. Timings are only
 * asserted as lower bounds (the server cannot answer earlier than its delay) or with wide margins.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEngine, type Engine } from '../../../test/support/engine.js';
import { SmtpTalk } from '../../../test/support/smtp-talk.js';

// Stopped at the end only: the deadline tests run concurrently, each on its own engine.
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

async function engine(o: Parameters<typeof startEngine>[0]): Promise<Engine> {
  const e = await startEngine(o);
  engines.push(e);
  return e;
}

/**
 * A session after EHLO. `sentAt` is taken before the EHLO goes out: the server's next deadline cannot
 * start earlier, so "elapsed since sentAt ≥ deadline" holds however busy the shared event loop is.
 */
async function session(e: Engine): Promise<SmtpTalk & { sentAt: number }> {
  const t = await SmtpTalk.open(e.port);
  expect((await t.reply())?.code).toBe(220);
  const sentAt = performance.now();
  t.line('EHLO client.example');
  expect((await t.reply())?.code).toBe(250);
  return Object.assign(t, { sentAt });
}

/** Sends a line and measures how long its reply took. */
async function timed(t: SmtpTalk, line: string): Promise<{ code: number | undefined; ms: number; text: string }> {
  const start = performance.now();
  t.line(line);
  const r = await t.reply(30_000);
  return { code: r?.code, ms: performance.now() - start, text: r?.lines.join('\n') ?? '' };
}

/** Writes `text` one octet per second until the server closes (bounded); returns the octets sent. */
async function trickle(t: SmtpTalk, text: string, maxOctets = 40): Promise<number> {
  let sent = 0;
  for (const ch of text.repeat(Math.ceil(maxOctets / text.length)).slice(0, maxOctets)) {
    t.send(ch);
    sent++;
    if (await t.closedByServer(1000)) return sent;
  }
  return sent;
}

describe('tarpit and error limits', () => {
  it('delays the reply after each error beyond afterErrors by a growing delay', async () => {
    const e = await engine({ limits: { maxErrors: 10, tarpit: { afterErrors: 1, delayMs: 400, maxDelayMs: 10_000 } } });
    const t = await session(e);
    expect((await timed(t, 'BOGUS 1')).code).toBe(500); // error 1
    // The delay runs from the error reply, which the server sends after it got the failing
    // command: so "reply to the next command − sending of the failing one" is at least the delay.
    const sent2 = performance.now();
    expect((await timed(t, 'BOGUS 2')).code).toBe(500); // error 2: no delay before its reply
    const sent3 = performance.now();
    expect((await timed(t, 'BOGUS 3')).code).toBe(500); // after 2 errors: 1 step
    expect(performance.now() - sent2).toBeGreaterThanOrEqual(395);
    expect((await timed(t, 'NOOP')).code).toBe(250); // after 3 errors: 2 steps
    expect(performance.now() - sent3).toBeGreaterThanOrEqual(795);
    t.close();
  });

  it('counts 4xx and 5xx alike, and an accepted message starts the count anew', async () => {
    const e = await engine({ limits: { maxErrors: 3, tarpit: { afterErrors: 1, delayMs: 20_000, maxDelayMs: 20_000 } } });
    const t = await session(e);
    expect((await timed(t, 'RCPT TO:<a@b.example>')).code).toBe(503); // error 1
    for (const line of ['MAIL FROM:<a@client.example>', 'RCPT TO:<b@engine.test>', 'DATA']) await timed(t, line);
    t.send('Subject: x\r\n\r\nx\r\n.\r\n');
    expect((await t.reply())?.code).toBe(250);
    // Had the error still counted, this second error would delay the next reply by 20 s.
    expect((await timed(t, 'BOGUS')).code).toBe(500);
    const noop = await timed(t, 'NOOP');
    expect(noop.code).toBe(250);
    expect(noop.ms).toBeLessThan(10_000);
    t.close();
  });

  it('ends the session with 421 4.7.0 at maxErrors and reports the limit', async () => {
    const e = await engine({ limits: { maxErrors: 3 } });
    const t = await session(e);
    t.send('BOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n');
    for (let i = 0; i < 3; i++) expect((await t.reply())?.code).toBe(500);
    expect((await t.reply())?.lines).toEqual(['421 4.7.0 Too many errors, closing connection']);
    expect(await t.closedByServer()).toBe(true);
    expect(e.closed).toEqual(['too-many-errors']);
    expect(e.limits).toEqual([{ client: '127.0.0.1', limit: 'errors', reply: '421 4.7.0 Too many errors, closing connection' }]);
  });

  it('cuts a tarpitted session at the session deadline with 421 4.4.2', async () => {
    const e = await engine({ limits: { sessionTimeoutMs: 1500, tarpit: { afterErrors: 0, delayMs: 60_000, maxDelayMs: 60_000 } } });
    const t = await session(e);
    expect((await timed(t, 'BOGUS')).code).toBe(500);
    const r = await timed(t, 'NOOP');
    expect(r.text).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
    expect(r.ms).toBeLessThan(30_000);
    expect(await t.closedByServer()).toBe(true);
    expect(e.closed).toEqual(['timeout']);
  });

  it('reads nothing while it tarpits: a flood behind the command stays in the client', async () => {
    const e = await engine({ limits: { tarpit: { afterErrors: 0, delayMs: 2000, maxDelayMs: 2000 } } });
    const t = await session(e);
    // The 2 s tarpit starts after the server got BOGUS, so not before this instant.
    const start = performance.now();
    expect((await timed(t, 'BOGUS')).code).toBe(500);
    const socket = t.detach();
    // More than loopback's socket buffers can hold (tcp_rmem allows up to 32 MB here).
    const flood = Buffer.alloc(100 << 20, 0x41);
    const drained = new Promise<number>((resolve) => socket.once('drain', () => resolve(performance.now() - start)));
    socket.write('NOOP\r\n');
    socket.write(flood);
    // A server that kept reading would take 100 MB off the wire long before its 2 s delay is over
    // (it reads it afterwards, as one over-long line, and memory stays bounded).
    expect(await drained).toBeGreaterThanOrEqual(1990);
    socket.destroy();
  });
});

describe('command rate', () => {
  it('ends a session that sends more commands per window than allowed with 421 4.7.0', async () => {
    const e = await engine({ limits: { commandRate: { count: 5, perMs: 60_000 } } });
    const t = await session(e); // EHLO is command 1
    t.send('NOOP\r\n'.repeat(10));
    for (let i = 0; i < 4; i++) expect((await t.reply())?.code).toBe(250);
    expect((await t.reply())?.lines).toEqual(['421 4.7.0 Too many commands, closing connection']);
    expect(await t.closedByServer()).toBe(true);
    expect(e.closed).toEqual(['command-rate']);
    expect(e.limits.map((l) => l.limit)).toEqual(['command-rate']);
  });
});

describe.concurrent('deadlines against a client trickling one octet per second', () => {
  it('drops it at the command deadline with 421 4.4.2', async () => {
    const e = await engine({ limits: { commandTimeoutMs: 3000, idleTimeoutMs: 3000 } });
    const t = await session(e);
    const sent = await trickle(t, 'NOOP NOOP NOOP ');
    expect(performance.now() - t.sentAt).toBeGreaterThanOrEqual(2990);
    expect(sent).toBeGreaterThanOrEqual(2); // octets kept arriving, and did not extend the deadline
    expect(sent).toBeLessThan(20);
    expect(await t.nextLine()).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
    expect(e.closed).toEqual(['timeout']);
  });

  it('drops it in DATA at the DATA deadline', async () => {
    const e = await engine({ limits: { dataTimeoutMs: 3000 } });
    const t = await session(e);
    for (const line of ['MAIL FROM:<a@client.example>', 'RCPT TO:<b@engine.test>']) await timed(t, line);
    const start = performance.now();
    expect((await timed(t, 'DATA')).code).toBe(354);
    const sent = await trickle(t, 'slow body ');
    expect(performance.now() - start).toBeGreaterThanOrEqual(2990);
    expect(sent).toBeLessThan(20);
    expect(await t.nextLine()).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
    expect(e.messages).toEqual([]);
  });

  it('drops it at the session deadline while every command and DATA stays within its own deadline', async () => {
    const e = await engine({ limits: { sessionTimeoutMs: 4000 } });
    const t = await session(e);
    const sent = await trickle(t, 'NOOP\r\n');
    expect(sent).toBeLessThan(20);
    const lines: string[] = [];
    for (let l = await t.nextLine(); l !== null; l = await t.nextLine()) lines.push(l);
    expect(lines.at(-1)).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
    expect(e.closed).toEqual(['timeout']);

    const d = await engine({ limits: { sessionTimeoutMs: 4000 } });
    const u = await session(d);
    for (const line of ['MAIL FROM:<a@client.example>', 'RCPT TO:<b@engine.test>', 'DATA']) await timed(u, line);
    expect(await trickle(u, 'x')).toBeLessThan(20);
    expect(await u.nextLine()).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
  });

  it('drops an idle client at the idle deadline, but lets a started command run to the command deadline', async () => {
    const e = await engine({ limits: { idleTimeoutMs: 1000, commandTimeoutMs: 4000 } });
    const idle = await session(e);
    expect(await idle.nextLine(10_000)).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
    expect(performance.now() - idle.sentAt).toBeGreaterThanOrEqual(990);
    const busy = await session(e);
    const sent = await trickle(busy, 'NOOP NOOP ');
    expect(performance.now() - busy.sentAt).toBeGreaterThanOrEqual(3990);
    expect(sent).toBeGreaterThanOrEqual(3);
    expect(await busy.nextLine()).toBe('421 4.4.2 mx.engine.test Error: timeout exceeded');
  });
});

describe('a client that never reads', () => {
  it('is dropped at the session deadline even while we wait for it to read our replies', async () => {
    // 40-octet error replies to 3-octet commands: 1.5 M of them are ~60 MB of replies, more than the
    // loopback socket buffers hold, so the session ends up waiting on a socket that never drains.
    const e = await engine({ limits: { sessionTimeoutMs: 3000, maxErrors: 1e9 } });
    const t = await session(e);
    const socket = t.detach();
    socket.pause(); // never read again
    socket.write(Buffer.from('X\r\n'.repeat(1_500_000)));
    await expect.poll(() => e.closed, { timeout: 20_000 }).toEqual(['timeout']);
    socket.destroy();
  });
});
