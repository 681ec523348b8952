/**
 * The edge of the real gateway process (supervisor + 2 workers that node:cluster hands connections
 * to in turn): connection limits hold for the whole gateway, not per worker (the workers ask the
 * supervisor for a slot); the slots of a worker killed with SIGKILL come back; per-/24 limits; and
 * the banner and EHLO of a real client (swaks) name only the configured host, no software.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { processTree, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

describe('the gateway edge', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    sink = await startSmtpSink();
    gw = await startGateway({
      dir,
      relayPort: sink.port,
      config: { hostname: 'mx.edge.test', workers: 2, limits: { maxConnectionsPerIp: 2, maxConnectionsPerNet: 5 } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  /** Opens `n` connections from `from` at once; the first line each one got. */
  async function openMany(n: number, from: string): Promise<{ talks: SmtpTalk[]; lines: (string | null)[] }> {
    const talks = await Promise.all(Array.from({ length: n }, () => SmtpTalk.open(gw.port, '127.0.0.1', from)));
    const lines = await Promise.all(talks.map((t) => t.nextLine(10_000)));
    return { talks, lines };
  }
  const greeted = (lines: (string | null)[]): number => lines.filter((l) => l === '220 mx.edge.test ESMTP').length;
  async function admitted(from: string): Promise<boolean> {
    const t = await SmtpTalk.open(gw.port, '127.0.0.1', from);
    const ok = (await t.nextLine(10_000)) === '220 mx.edge.test ESMTP';
    t.close();
    return ok;
  }

  it('shows only the configured host name in the banner and EHLO (swaks)', async () => {
    const r = await swaks({ port: gw.port, to: 'bob@example.test', headers: ['Subject: banner'] });
    expect(r.code, r.stdout).toBe(0);
    expect(r.replies[0]).toBe('220 mx.edge.test ESMTP');
    const ehloAt = r.replies.findIndex((l) => l.startsWith('250-'));
    const ehlo = r.replies.slice(ehloAt, r.replies.findIndex((l, i) => i > ehloAt && l.startsWith('250 ')) + 1);
    expect(ehlo).toEqual(['250-mx.edge.test', '250-PIPELINING', '250-SIZE 26214400', '250-8BITMIME', '250-ENHANCEDSTATUSCODES', '250-SMTPUTF8', '250-DSN', '250 CHUNKING']);
    expect(r.replies.join('\n')).not.toMatch(/moat|node|typescript|version/i);
  });

  it('counts connections per IP across both workers, and gives a slot back when a session ends', async () => {
    const { talks, lines } = await openMany(6, '127.0.0.10');
    // Per worker, each of the two would have admitted 2 of the 6.
    expect(greeted(lines)).toBe(2);
    expect(lines.filter((l) => l === '421 4.7.0 Too many connections from your address, try again later').length).toBe(4);
    const limit = await gw.waitForEvent('session.limit', (e) => e['client'] === '127.0.0.10');
    expect(limit).toMatchObject({ limit: 'per-ip', reply: '421 4.7.0 Too many connections from your address, try again later' });
    expect(await admitted('127.0.0.11')).toBe(true);
    const open = talks.filter((_, i) => lines[i]?.startsWith('220'));
    open[0]?.line('QUIT');
    await waitUntil(() => admitted('127.0.0.10'), { timeoutMs: 10_000, what: 'a slot back for 127.0.0.10' });
    for (const t of talks) t.close();
  });

  it('counts a /24 together across the workers', async () => {
    const held: SmtpTalk[] = [];
    for (const from of ['127.0.0.20', '127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24']) {
      await waitUntil(async () => {
        const t = await SmtpTalk.open(gw.port, '127.0.0.1', from);
        if ((await t.nextLine(10_000)) === '220 mx.edge.test ESMTP') return held.push(t);
        t.close();
        return false;
      }, { timeoutMs: 10_000, what: `a session for ${from}` });
    }
    const t = await SmtpTalk.open(gw.port, '127.0.0.1', '127.0.0.25');
    expect(await t.nextLine()).toBe('421 4.7.0 Too many connections from your network, try again later');
    for (const h of held) h.close();
  });

  it('gives back the slots of a worker killed with SIGKILL', async () => {
    // The earlier tests' sessions (and a probe's) give their slots back asynchronously after they
    // close: wait until two sessions from this address are both greeted at once.
    const { talks, lines } = await waitUntil(async () => {
      const o = await openMany(2, '127.0.0.30');
      if (greeted(o.lines) === 2) return o;
      for (const t of o.talks) t.close();
      return false;
    }, { timeoutMs: 10_000, what: 'two sessions from 127.0.0.30 at once' });
    expect(greeted(lines)).toBe(2);
    const workers = processTree(gw.process.pid).slice(1);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    // Kill both workers: their sessions never end properly, so only the supervisor can free the slots.
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    await gw.waitForEvent('worker.exit', (e) => e['restarting'] === true);
    await waitUntil(async () => (await admitted('127.0.0.30')) && (await admitted('127.0.0.30')), { timeoutMs: 20_000, what: 'slots of the killed workers back' });
    for (const t of talks) t.close();
  });
});
