/**
 * The message log, `moat explain`, `moat log` and the admin listener through the real gateway
 * (supervisor + 2 workers writing one SQLite file), swaks as the client and smtp-sink as the LAN
 * server: hams are explained with their verdict and the sink's reply to the delivery; a relay
 * attempt and a deny-listed sender are found by client IP with the phase that refused them;
 * GET /metrics shows the counters of both workers added up; /healthz is 200 with every worker
 * ready and 503 while one is being restarted; explain still reads the log once the gateway stopped.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { stopAll } from '../harness/process.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { processTree, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import type { MessagePage, MessageStory } from '../../src/store/message-log.js';

function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const HAMS = 4;

describe('message log, explain and metrics through the gateway', () => {
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  const hamIds: string[] = [];

  beforeAll(async () => {
    dir = await makeScratchDir();
    lan = await startSmtpSink();
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      config: { workers: 2, checks: { senderLists: { deny: { addresses: ['spammer@bad.test'] } } } },
    });
  });
  afterAll(async () => {
    if (gw?.process.running) await gw.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const story = async (id: string): Promise<MessageStory> => {
    const r = await gw.cli('explain', id, '--json');
    if (r.code !== 0) throw new Error(`explain ${id}: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as MessageStory;
  };

  it('explains delivered hams: envelope, verdict, the delivery attempt with the LAN server\'s reply, the final state', async () => {
    for (let i = 0; i < HAMS; i++) {
      const r = await swaks({ port: gw.port, from: 'alice@sender.example', to: 'bob@example.test', helo: 'client.test', headers: [`Subject: =?UTF-8?Q?caf=C3=A9_report_${i}?=`] });
      const queued = r.replies.find((x) => x.startsWith('250 2.0.0 Ok: queued as '));
      expect(queued, r.stdout).toBeDefined();
      hamIds.push((queued as string).slice('250 2.0.0 Ok: queued as '.length));
    }
    // Both workers took some of them: the log and the metrics below join two processes.
    await waitUntil(async () => (await lan.messages()).length >= HAMS, { timeoutMs: 30_000, what: 'the hams at the LAN server' });
    const pids = new Set(gw.events().filter((e) => e['event'] === 'message.accepted').map((e) => e['pid']));
    expect(pids.size).toBe(2);

    const id = hamIds[0] as string;
    const s = await waitUntil(async () => {
      const x = await story(id);
      return x.state === 'delivered' ? x : undefined;
    }, { timeoutMs: 20_000, what: 'the delivery in the message log' });
    expect(s.entry).toMatchObject({
      queueId: id,
      sender: 'alice@sender.example',
      client: { ip: '127.0.0.1', helo: 'client.test' },
      recipients: [{ address: 'bob@example.test', accepted: true, reply: { code: 250, status: '2.1.5' } }],
      subject: 'café report 0',
      phase: 'data',
      action: 'accept',
      reply: { code: 250, status: '2.0.0', text: `Ok: queued as ${id}` },
      verdict: { thresholds: { reject: 15 }, profile: 'default', reason: expect.stringContaining('below every threshold') },
    });
    const attempt = s.events.find((e) => e.kind === 'attempt');
    expect(attempt).toMatchObject({ outcome: 'delivered', recipients: ['bob@example.test'], relay: `127.0.0.1:${lan.port}` });
    // The sink's own reply to our DATA, as the LAN server said it.
    expect(attempt?.kind === 'attempt' && attempt.reply).toMatch(/^250 /);

    const text = await gw.cli('explain', id);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('MAIL FROM <alice@sender.example>  -> 250 2.1.0 Ok');
    expect(text.stdout).toContain('RCPT TO   <bob@example.test>  -> 250 2.1.5 Ok');
    expect(text.stdout).toMatch(/Verdict: +accept, score 0 \(thresholds: tag \d+, quarantine \d+, reject 15; profile default\)/);
    expect(text.stdout).toContain(`delivered <bob@example.test> via 127.0.0.1:${lan.port}`);
    expect(text.stdout).toContain(`-> ${attempt?.kind === 'attempt' ? attempt.reply : '?'}`);
    expect(text.stdout).toContain('Subject: café report 0');
    expect(text.stdout).toMatch(/State: +delivered/);
  });

  it('finds a relay attempt and a deny-listed sender by client IP, with the phase, reply and symbol that refused them', async () => {
    const relay = await swaks({ port: gw.port, localAddress: '127.0.0.77', from: 'alice@sender.example', to: 'victim@elsewhere.example' });
    expect(relay.replies).toContain('554 5.7.1 Relay access denied');
    const deny = await swaks({ port: gw.port, localAddress: '127.0.0.78', from: 'spammer@bad.test', to: 'bob@example.test' });
    expect(deny.replies).toContain('550 5.7.1 Sender address rejected: access denied');

    const find = async (ip: string): Promise<MessagePage> =>
      waitUntil(async () => {
        const r = await gw.cli('log', '--client', ip, '--json');
        const page = JSON.parse(r.stdout) as MessagePage;
        return page.items.length > 0 ? page : undefined;
      }, { timeoutMs: 20_000, what: `the entry of ${ip} in the message log` });
    const relayed = await find('127.0.0.77');
    expect(relayed.items).toHaveLength(1);
    expect(relayed.items[0]).toMatchObject({ action: 'reject', phase: 'rcptTo', sender: 'alice@sender.example', recipients: ['victim@elsewhere.example'], reply: { code: 554, status: '5.7.1' } });
    const r = (await story(relayed.items[0]?.queueId as string)).entry;
    expect(r?.recipients).toEqual([{ address: 'victim@elsewhere.example', accepted: false, reply: { code: 554, status: '5.7.1', text: 'Relay access denied' }, symbol: 'RCPT_NOT_LOCAL' }]);
    expect(r?.verdict.findings.map((f) => f.symbol)).toContain('RCPT_NOT_LOCAL');

    const denied = await find('127.0.0.78');
    expect(denied.items[0]).toMatchObject({ action: 'reject', phase: 'mailFrom', sender: 'spammer@bad.test', recipients: [], reply: { code: 550 } });
    const d = await gw.cli('explain', denied.items[0]?.queueId as string);
    expect(d.stdout).toContain('Outcome:   rejected at MAIL FROM');
    expect(d.stdout).toContain('SENDER_DENYLISTED');
    expect(d.stdout).toContain('MAIL FROM <spammer@bad.test>  -> 550 5.7.1 Sender address rejected: access denied');

    // The text listing filters the same way.
    const listing = await gw.cli('log', '--action', 'reject');
    expect(listing.stdout).toContain('127.0.0.77');
    expect(listing.stdout).toContain('127.0.0.78');
    expect(listing.stdout).not.toContain(hamIds[0] as string);
  });

  it('serves GET /metrics with both workers\' counters added up, and /healthz', async () => {
    const m = await waitUntil(async () => {
      const r = await get(gw.adminPort, '/metrics');
      return metric(r.body, 'moat_delivery_attempts_total{outcome="delivered"}') === HAMS ? r : undefined;
    }, { timeoutMs: 20_000, what: 'every delivery in the metrics' });
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metric(m.body, 'moat_messages_total{action="accept"}')).toBe(HAMS);
    expect(metric(m.body, 'moat_messages_total{action="reject"}')).toBe(2);
    expect(metric(m.body, 'moat_refusals_total{phase="rcptTo",action="reject"}')).toBe(1);
    expect(metric(m.body, 'moat_refusals_total{phase="mailFrom",action="reject"}')).toBe(1);
    expect(metric(m.body, 'moat_symbol_hits_total{check="relay-guard",symbol="RCPT_NOT_LOCAL"}')).toBe(1);
    expect(metric(m.body, 'moat_symbol_hits_total{check="sender-lists",symbol="SENDER_DENYLISTED"}')).toBe(1);
    expect(metric(m.body, 'moat_scan_duration_seconds_count')).toBe(HAMS);
    expect(metric(m.body, 'moat_delivery_duration_seconds_count')).toBe(HAMS);
    expect(metric(m.body, 'moat_queue_messages{shard="0"}')).toBe(0);
    expect(metric(m.body, 'moat_quarantine_messages')).toBe(0);
    expect(metric(m.body, 'moat_messagelog_dropped_total')).toBe(0);
    expect(metric(m.body, 'moat_workers_ready')).toBe(2);

    const h = await get(gw.adminPort, '/healthz');
    expect(h.status).toBe(200);
    expect(JSON.parse(h.body)).toEqual({ status: 'ok', workers: 2, ready: 2 });
    expect((await get(gw.adminPort, '/nope')).status).toBe(404);
  });

  it('answers /healthz 503 while a worker is restarted, and 200 again once it is ready', async () => {
    const workers = processTree(gw.process.pid).slice(1);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    process.kill(workers[0] as number, 'SIGKILL');
    const down = await waitUntil(async () => {
      const h = await get(gw.adminPort, '/healthz');
      return h.status === 503 ? h : undefined;
    }, { timeoutMs: 10_000, what: '/healthz to report the dead worker' });
    expect(JSON.parse(down.body)).toMatchObject({ status: 'unavailable', ready: 1 });
    await waitUntil(async () => (await get(gw.adminPort, '/healthz')).status === 200, { timeoutMs: 30_000, what: 'the restarted worker to be ready' });
    // The metrics still answer, from the surviving worker and the new one.
    expect((await get(gw.adminPort, '/metrics')).status).toBe(200);
  });

  it('explains from the log file once the gateway has stopped', async () => {
    expect(await gw.stop()).toBe(0);
    const r = await gw.cli('explain', hamIds[1] as string, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as MessageStory;
    expect(s).toMatchObject({ queueId: hamIds[1], state: 'delivered', entry: { subject: 'café report 1', action: 'accept' } });
    const missing = await gw.cli('explain', 'NOSUCHID');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no message NOSUCHID in the message log');
  });
});
