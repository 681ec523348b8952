/**
 * Scale-out (issue 7): two real gateways (`moat start`, supervisor + 2 workers each, own dataDir and
 * spool) sharing one real redis-server (state) and one real PostgreSQL (message log), with
 * smtp-sink as the LAN server. A triplet greylisted on node A passes on node B after the delay; a
 * per-client message rate counts the messages of both nodes; node B's `moat log`/`moat explain`
 * sees node A's mail with its node name; Bayes trained with `moat learn` against node A's config
 * (tokens in the shared Redis, no bayes.db on either node) scores on node B; with Redis killed the sessions are deferred (the
 * checks' fail policy: 451), nothing is accepted without a working store and nothing already
 * accepted is lost, and once Redis is back both nodes work again without a restart.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { startRedis, type RedisHandle } from '../harness/redis.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { smtplibSend } from '../harness/smtplib.js';
import { stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const DELAY_MS = 1500;
const LIMIT = 20; // every MAIL counts, greylisted retries too: above what the other tests send per client
const GREY = '451 4.7.1 Greylisted, please try again later';

describe('two gateway nodes sharing Redis and PostgreSQL', () => {
  let dirs: string[] = [];
  let lan: SmtpSinkHandle;
  let redis: RedisHandle;
  let pg: PostgresHandle;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    [redis, pg, lan] = await Promise.all([startRedis(), startPostgres(), startSmtpSink()]);
    const store = await pg.createDatabase('moat');
    dirs = await Promise.all([makeScratchDir(), makeScratchDir()]);
    const node = (name: string, dir: string): Promise<GatewayProcess> =>
      startGateway({
        dir,
        relayPort: lan.port,
        config: {
          node: name,
          state: `redis://127.0.0.1:${redis.port}/0`,
          redis: { keyPrefix: 'moat-test:', commandTimeout: '500ms' },
          store,
          // Everything for this address is quarantined (score 0 is above its quarantine threshold).
          policy: { overrides: { 'jail@example.test': { actions: { quarantine: -100 } } } },
          checks: {
            greylist: { enabled: true, delay: `${DELAY_MS}ms`, retryWindow: '1h', lifetime: '1d', failOpen: false },
            rateLimit: { messagesPerClient: { count: LIMIT, per: '1h' } },
            bayes: { minSpam: 3, minHam: 3 },
          },
        },
      });
    [a, b] = await Promise.all([node('node-a', dirs[0] as string), node('node-b', dirs[1] as string)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await stopAll();
    await Promise.all(dirs.map((d) => removeScratchDir(d)));
  });

  it('a triplet greylisted on node A passes on node B after the delay, and B\'s log shows A\'s attempt', async () => {
    const msg = { source: '127.0.0.21', from: 'alice@sender.example', to: ['bob@example.test'], data: 'Subject: across-nodes\r\n\r\nhello\r\n' };
    const t0 = Date.now();
    const first = await smtplibSend({ port: a.port, ...msg });
    expect(first.rcpt).toEqual([[451, '4.7.1 Greylisted, please try again later']]);
    expect(await a.waitForEvent('message.deferred', (e) => e['because'] === 'GREYLIST')).toMatchObject({ node: 'node-a' });
    // Node B knows the triplet: before the delay it defers it as pending, after it accepts it.
    const accepted = await waitUntil(
      async () => {
        const r = await smtplibSend({ port: b.port, ...msg });
        if (r.rcpt[0]?.[0] !== 250) {
          expect(r.rcpt[0]).toEqual([451, '4.7.1 Greylisted, please try again later']);
          return undefined;
        }
        return r;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'node B to accept the retry' },
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(DELAY_MS);
    expect(accepted.data?.[0]).toBe(250);
    const ev = await b.waitForEvent('message.accepted', (e) => e['from'] === 'alice@sender.example');
    expect(ev['node']).toBe('node-b');
    await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('across-nodes')), { timeoutMs: 20_000, what: 'the message at the LAN server' });
    // Node B's message log is the shared one: A's deferral is in it, with A's name.
    const log = await waitUntil(
      async () => {
        const r = await b.cli('log', '--sender', 'alice@sender.example', '--json');
        return r.code === 0 && r.stdout.includes('node-a') && r.stdout.includes('node-b') ? r : undefined;
      },
      { timeoutMs: 20_000, what: "both nodes' entries in node B's moat log" },
    );
    expect(log.stdout).toContain('defer');
    // Each node names itself in its metrics.
    for (const [gw, name] of [[a, 'node-a'], [b, 'node-b']] as const) {
      const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
      expect(text).toContain(`moat_node_info{node="${name}"} 1`);
    }
  });

  it('counts a client\'s message rate over both nodes', async () => {
    const client = '127.0.0.40';
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const gw = i % 2 === 0 ? a : b;
      const r = await smtplibSend({ port: gw.port, source: client, from: '', to: ['postmaster@example.test'], data: `Subject: rate-${i}\r\n\r\nx\r\n` });
      codes.push(r.mail?.[0]);
    }
    expect(codes).toEqual(Array(LIMIT).fill(250));
    const over = await smtplibSend({ port: a.port, source: client, from: '', to: ['postmaster@example.test'] });
    expect(over.mail).toEqual([450, '4.7.1 Too much mail from this client, try again later']);
    const overB = await smtplibSend({ port: b.port, source: client, from: '', to: ['postmaster@example.test'] });
    expect(overB.mail).toEqual([450, '4.7.1 Too much mail from this client, try again later']);
  });

  it('a message quarantined on node A is listed and released from node B, which delivers it', async () => {
    // Greylisted first (a new triplet), as any client's queue would, retried until accepted.
    const r = await waitUntil(
      async () => {
        const x = await smtplibSend({ port: a.port, source: '127.0.0.23', from: '', to: ['jail@example.test'], data: 'Subject: jailed-on-a\r\n\r\nbody kept in PostgreSQL\r\n' });
        return x.data?.[0] === 250 ? x : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'node A to accept the message for jail@' },
    );
    expect(r.data?.[1]).toMatch(/^2\.0\.0 Ok: queued as /);
    const q = await a.waitForEvent('message.quarantined', (e) => e['to'] === 'jail@example.test' || JSON.stringify(e['to']).includes('jail@'));
    const id = String(q['queueId']);
    expect(q['node']).toBe('node-a');
    const list = await b.cli('quarantine', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    const show = await b.cli('quarantine', 'show', id);
    expect(show.stdout).toContain('Subject: jailed-on-a');
    const rel = await b.cli('quarantine', 'release', id);
    expect(rel).toMatchObject({ code: 0 });
    expect(rel.stdout).toContain(`${id}: released`);
    expect(await b.waitForEvent('quarantine.released', (e) => e['queueId'] === id)).toMatchObject({ node: 'node-b' });
    const got = await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('jailed-on-a')), { timeoutMs: 20_000, what: 'the released message at the LAN server' });
    expect(got.data).toContain('body kept in PostgreSQL');
    expect(await b.waitForEvent('delivery.sent', (e) => e['queueId'] === id)).toMatchObject({ node: 'node-b' });
    // Gone from the shared quarantine: node A cannot release it a second time.
    expect((await a.cli('quarantine', 'release', id)).code).not.toBe(0);
    expect((await a.cli('quarantine', 'list')).stdout).not.toContain(id);
  });

  it('Bayes trained via node A (moat learn against node A\'s config) scores on node B', async () => {
    const train = join(dirs[0] as string, 'train');
    const spamWords = 'cheap replica watches casino bonus lottery winner claim prize wire transfer pharmacy discount';
    const hamWords = 'meeting agenda quarterly report budget review minutes project schedule team lunch';
    for (const [kind, words] of [['spam', spamWords], ['ham', hamWords]] as const) {
      await mkdir(join(train, kind), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const body = `${words} ${words.split(' ').reverse().join(' ')} number ${i}`;
        await writeFile(join(train, kind, `${i}.eml`), `From: x${i}@${kind}.example\r\nTo: bob@example.test\r\nSubject: ${kind} ${i}\r\nMessage-ID: <${kind}-${i}@train.example>\r\n\r\n${body}\r\n`);
      }
    }
    expect((await a.cli('learn', 'spam', join(train, 'spam'))).stdout).toContain('spam: learned 4');
    const ham = await a.cli('learn', 'ham', join(train, 'ham'));
    expect(ham.stdout).toContain('store: 4 spam, 4 ham learned');
    // The tokens are in the shared Redis: neither node has a token file of its own.
    expect(existsSync(join(a.dataDir, 'bayes.db')) || existsSync(join(b.dataDir, 'bayes.db'))).toBe(false);
    // Node B's own CLI sees what was learned through A.
    expect((await b.cli('learn', 'ham', join(train, 'ham'))).stdout).toContain('skipped 4 (already known)');
    // B's verdict (its message.accepted, .quarantined or .rejected line: with the default scores
    // BAYES_99 + BAYES_999 on a message without Date and Message-ID reach the reject threshold).
    const symbols = async (kind: string, words: string): Promise<string> => {
      const from = `eve-${kind}@sender.example`;
      const msg = { source: '127.0.0.24', from, to: ['bob@example.test'], data: `Subject: bayes-${kind}-on-b\r\n\r\n${words}\r\n` };
      await waitUntil(
        async () => {
          const r = await smtplibSend({ port: b.port, ...msg });
          // Past greylisting (4xx): a 250, or a 5xx verdict at end of data.
          const code = r.data?.[0] ?? 0;
          return code === 250 || (code >= 500 && code < 600) ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 300, what: `node B's end-of-data verdict on the ${kind} message` },
      );
      const verdict = await waitUntil(async () => b.events().find((e) => ['message.accepted', 'message.quarantined', 'message.rejected'].includes(String(e['event'])) && e['from'] === from), {
        timeoutMs: 20_000,
        what: `node B's verdict on the ${kind} message`,
      });
      expect(verdict['node']).toBe('node-b');
      return JSON.stringify(verdict['symbols']);
    };
    expect(await symbols('spam', spamWords)).toMatch(/BAYES_(8|9)/);
    expect(await symbols('ham', hamWords)).toMatch(/BAYES_00/);
  });

  it('defers every session while Redis is down, loses nothing, and recovers when Redis is back', async () => {
    // A message accepted before the outage (known triplet from the first test).
    const before = await smtplibSend({ port: a.port, source: '127.0.0.21', from: 'alice@sender.example', to: ['bob@example.test'], data: 'Subject: before-outage\r\n\r\nx\r\n' });
    expect(before.data?.[0]).toBe(250);
    const port = redis.port;
    await redis.stop();
    for (const gw of [a, b]) {
      const r = await smtplibSend({ port: gw.port, source: '127.0.0.21', from: 'alice@sender.example', to: ['bob@example.test'], data: 'Subject: during-outage\r\n\r\nx\r\n' });
      // The rate limit (at MAIL) or greylisting (at RCPT) cannot reach Redis: a 4xx, never a 250 or 5xx.
      const refusal = r.mail?.[0] === 250 ? r.rcpt[0] : r.mail;
      expect(refusal?.[0]).toBe(451);
      expect(r.data).toBeNull();
    }
    expect(a.process.running && b.process.running).toBe(true);
    await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('before-outage')), { timeoutMs: 20_000, what: 'the message accepted before the outage at the LAN server' });

    // Redis back (empty: no persistence in the test): greylisting works again on both nodes.
    redis = await startRedis({ port });
    const msg = { source: '127.0.0.22', from: 'carol@sender.example', to: ['dave@example.test'], data: 'Subject: after-outage\r\n\r\nx\r\n' };
    await waitUntil(
      async () => {
        const r = await smtplibSend({ port: a.port, ...msg });
        return r.rcpt[0]?.[0] === 451 && `${r.rcpt[0][0]} ${r.rcpt[0][1]}` === GREY ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'node A to greylist again (Redis reachable)' },
    );
    const passed = await waitUntil(
      async () => {
        const r = await smtplibSend({ port: b.port, ...msg });
        return r.data?.[0] === 250 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'node B to accept after the delay' },
    );
    expect(passed.data?.[1]).toMatch(/^2\.0\.0 Ok: queued as /);
    await waitUntil(async () => (await lan.messages()).find((m) => m.data.includes('after-outage')), { timeoutMs: 20_000, what: 'the message after the outage at the LAN server' });
    expect((await lan.messages()).filter((m) => m.data.includes('during-outage'))).toEqual([]);
  });
});
