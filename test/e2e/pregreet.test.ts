/**
 * The pregreet policy through the real gateway: an unknown client that talks first is refused with
 * 554 5.5.1 (PREGREET in the log); a client that waits is greeted after the wait, its mail goes
 * through, and it is remembered (state store) so that its next connection is greeted at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { runSwaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

describe('pregreet test', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink({});
    gw = await startGateway({ dir, relayPort: sink.port, config: { checks: { pregreet: { enabled: true, wait: '800ms', remember: '1h' } } } });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('refuses a client that talks before the greeting', async () => {
    const t = await SmtpTalk.open(gw.port, '127.0.0.1', '127.0.0.21');
    t.send('EHLO bot.example\r\n');
    expect(await t.nextLine()).toBe('220-mx.moat.test ESMTP');
    // Before EHLO, no enhanced status (RFC 2034 §3).
    expect(await t.nextLine()).toBe('554 Protocol error: you talked before my greeting');
    expect(await t.closedByServer()).toBe(true);
    const e = await gw.waitForEvent('message.rejected', (x) => x['because'] === 'PREGREET');
    expect(e['client']).toBe('127.0.0.21');
  });

  it('greets a client that waits, delivers its mail, and greets it at once next time', async () => {
    const first = await runSwaks(['--server', '127.0.0.1', '--port', String(gw.port), '--local-interface', '127.0.0.22', '--to', 'bob@example.test', '--from', 'a@sender.example']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/<-\s+220-mx\.moat\.test ESMTP/);
    expect(first.stdout).toMatch(/<-\s+250 2\.0\.0 Ok: queued as/);
    await sink.waitForMessages(1);
    const t = await SmtpTalk.open(gw.port, '127.0.0.1', '127.0.0.22');
    expect(await t.nextLine()).toBe('220 mx.moat.test ESMTP');
    t.send('QUIT\r\n');
    await t.closedByServer();
  });
});
