/**
 * Outbound mail over its own thresholds, through the real worker composition in-process with a
 * real client (swaks): a message from a trusted LAN client that scores over outbound.policy's
 * quarantine threshold is kept in quarantine (250, nothing delivered) and logs outbound.alert with
 * the client, while the same score on inbound mail stays below the inbound thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { startInProcess, type InProcessGateway } from '../support/in-process.js';

describe('outbound quarantine', () => {
  let lan: SmtpSinkHandle;
  let gw: InProcessGateway;

  beforeAll(async () => {
    lan = await startSmtpSink();
    gw = await startInProcess(
      {
        // SENDER_OWN_DOMAIN_OUTSIDE (score 2) marks our domain as MAIL FROM from outside internalNetworks.
        checks: { senderLists: { internalNetworks: ['10.0.0.0/8'] } },
        outbound: { trustedNetworks: ['127.0.0.10/32'], policy: { quarantine: 1 } },
      },
      lan.port,
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
  });

  it('quarantines outbound mail over the outbound threshold and alerts the admin', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@example.test', to: 'bob@far.test', localAddress: '127.0.0.10', headers: ['Subject: out-q'] });
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued as'))).toBe(true);
    const alert = gw.logs.find((e) => e['event'] === 'outbound.alert');
    expect(alert).toMatchObject({ client: '127.0.0.10', account: null, action: 'quarantine', to: ['bob@far.test'] });
    expect(gw.logs.some((e) => e['event'] === 'message.quarantined' && e['score'] === 2)).toBe(true);
  });

  it('keeps the inbound thresholds for inbound mail with the same score', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@example.test', to: 'bob@example.test', localAddress: '127.0.0.12', headers: ['Subject: in-q'] });
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued as'))).toBe(true);
    const accepted = gw.logs.find((e) => e['event'] === 'message.accepted' && e['to'] !== undefined && JSON.stringify(e['to']).includes('bob@example.test'));
    expect(accepted).toMatchObject({ score: 2, action: 'accept' });
    await lan.waitForMessages(1);
  });
});
