/**
 * The pregreet mechanism with real clients: a raw socket that talks first, Python's smtplib (which
 * waits for the greeting), and a handler that lets an early talker through. The wait is short for
 * the polite client; for the talker it is long, because talking ends the wait at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../../test/harness/process.js';
import { startEngine, type Engine } from '../../../test/support/engine.js';
import { SmtpTalk } from '../../../test/support/smtp-talk.js';
import * as R from '../reply.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const SMTPLIB = `
import smtplib, sys
s = smtplib.SMTP(local_hostname='client.test', timeout=20)
code, banner = s.connect('127.0.0.1', int(sys.argv[1]))
print('GREETING', code, banner.decode().replace('\\n', '|'), flush=True)
s.sendmail('a@client.test', ['b@engine.test'], 'Subject: polite\\r\\n\\r\\nhello\\r\\n')
print('SENT', flush=True)
s.quit()
`;

describe('pregreet', () => {
  it('refuses a client that talks before the greeting is complete, after only the first greeting line', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 20_000 }), greeted: (e) => (e.talkedFirst ? R.pregreetRejected() : null) });
    const t = await SmtpTalk.open(engine.port);
    t.send('EHLO bot.example\r\n');
    expect(await t.nextLine()).toBe('220-mx.engine.test ESMTP');
    expect(await t.nextLine()).toBe('554 Protocol error: you talked before my greeting');
    expect(await t.closedByServer()).toBe(true);
    expect(t.pendingText).toBe('');
    expect(engine.early).toEqual([{ talkedFirst: true, octets: 'EHLO bot.example\r\n'.length }]);
    expect(engine.closed).toEqual(['refused']);
  });

  it('greets a polite client (smtplib) after the wait, and the session goes on', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 300 }), greeted: (e) => (e.talkedFirst ? R.pregreetRejected() : null) });
    const r = await runCommand('/usr/bin/python3', ['-c', SMTPLIB, String(engine.port)], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    // smtplib joins the lines of a multi-line reply: both greeting lines arrived, in order.
    expect(r.stdout).toContain('GREETING 220 mx.engine.test ESMTP|mx.engine.test ESMTP');
    expect(r.stdout).toContain('SENT');
    expect(engine.early).toEqual([{ talkedFirst: false, octets: 0 }]);
    expect(engine.messages.join('')).toContain('Subject: polite');
  });

  it('reads early input as commands when the handler lets the talker through', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 20_000 }), greeted: () => null });
    const t = await SmtpTalk.open(engine.port);
    t.send('EHLO early.example\r\nNOOP\r\n');
    expect(await t.nextLine()).toBe('220-mx.engine.test ESMTP');
    expect(await t.nextLine()).toBe('220 mx.engine.test ESMTP');
    expect((await t.reply())?.lines[0]).toBe('250-mx.engine.test');
    expect((await t.reply())?.lines).toEqual(['250 2.0.0 Ok']);
    expect(engine.early[0]?.talkedFirst).toBe(true);
    t.close();
  });

  it('completes the greeting without asking when the handler has no greeted()', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 200 }) });
    const t = await SmtpTalk.open(engine.port);
    expect((await t.reply())?.lines).toEqual(['220-mx.engine.test ESMTP', '220 mx.engine.test ESMTP']);
    t.line('QUIT');
    expect((await t.reply())?.code).toBe(221);
    t.close();
  });

  it('sends the one-line greeting when the plan asks for no wait, and a reply from connect() refuses', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 0 }) });
    const t = await SmtpTalk.open(engine.port);
    expect((await t.reply())?.lines).toEqual(['220 mx.engine.test ESMTP']);
    t.close();
    await engine.stop();
    engine = await startEngine({ connect: () => R.connectionRefused() });
    const u = await SmtpTalk.open(engine.port);
    expect((await u.reply())?.lines).toEqual(['554 Service unavailable']);
    expect(await u.closedByServer()).toBe(true);
  });

  it('does not ask the handler about a client that hung up during the wait', async () => {
    engine = await startEngine({ connect: () => ({ pregreetWaitMs: 20_000 }), greeted: () => null });
    const t = await SmtpTalk.open(engine.port);
    expect(await t.nextLine()).toBe('220-mx.engine.test ESMTP');
    t.close();
    const e = engine;
    await expect.poll(() => e.closed, { timeout: 10_000 }).toEqual(['client-closed']);
    expect(engine.early).toEqual([]);
  });
});
