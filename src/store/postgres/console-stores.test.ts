// The console's cluster stores against a real PostgreSQL 15 on loopback (test/harness/postgres.ts):
// users and sessions shared by two nodes' admin stores (migrated together, safely); the message
// log's rollups summed over nodes for the dashboard and kept per node (LAN servers, failures); the
// node list with ages measured by the server's clock, stale rows forgotten.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../../test/harness/postgres.js';
import { stopAll } from '../../../test/harness/process.js';
import { AdminStoreError } from '../admin.js';
import type { LogRecord, TransactionEntry } from '../message-log.js';
import { PostgresAdminStore } from './admin.js';
import { PostgresMessageLog } from './message-log.js';
import { PostgresNodeRegistry } from './nodes.js';

let pg: PostgresHandle;
let n = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 90_000);

afterAll(async () => {
  await stopAll();
});

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);

function entry(i: number, over: Partial<TransactionEntry> = {}): TransactionEntry {
  return {
    time: T0 + i * 1000,
    queueId: `Q${i}`,
    sessionId: `s${i}`,
    client: { ip: `192.0.2.${i % 3}`, port: 1, ptr: null, helo: 'h.example', tls: null },
    sender: `a${i}@d${i % 2}.example`,
    mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
    recipients: [{ address: 'b@example.test', accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
    subject: 's',
    messageId: null,
    size: 10,
    phase: 'data',
    action: 'accept',
    verdict: { score: 0, thresholds: { tag: 5, quarantine: 10, reject: 15 }, profile: 'default', reason: 'r', findings: [] },
    reply: { code: 250, status: '2.0.0', text: 'Ok' },
    scanMs: 1,
    ...over,
  };
}

const finding = (symbol: string, check: string) => ({ symbol, check, phase: 'data' as const, score: 1, detail: '', description: '', observed: false });

describe('PostgresAdminStore', () => {
  it('two nodes migrate together and share users and sessions; deleting a user ends its sessions', async () => {
    const url = await pg.createDatabase(`admin${++n}`);
    const [a, b] = [new PostgresAdminStore({ url, poolSize: 2, statementTimeoutMs: 5000 }), new PostgresAdminStore({ url, poolSize: 2, statementTimeoutMs: 5000 })];
    await Promise.all([a.init(), b.init()]);
    expect(await b.countUsers()).toBe(0);
    await a.putUser({ name: 'root', role: 'admin', passwordHash: 'scrypt$x', createdAt: 1, updatedAt: 1 });
    expect(await b.getUser('root')).toEqual({ name: 'root', role: 'admin', passwordHash: 'scrypt$x', createdAt: 1, updatedAt: 1 });
    expect(await b.addUserIfAbsent({ name: 'root', role: 'readonly', passwordHash: 'other', createdAt: 2, updatedAt: 2 })).toBe(false);
    expect((await a.getUser('root'))?.role).toBe('admin');
    await a.createSession({ idHash: 'h1', user: 'root', csrf: 'c', createdAt: 10, lastSeenAt: 10 });
    await b.touchSession('h1', 50);
    expect(await b.getSession('h1')).toEqual({ idHash: 'h1', user: 'root', csrf: 'c', createdAt: 10, lastSeenAt: 50 });
    expect(await a.pruneSessions(0, 20)).toBe(0);
    expect(await b.deleteUser('root')).toBe(true);
    expect(await a.getSession('h1')).toBeNull();
    expect(await a.deleteUser('root')).toBe(false);
    expect((await pg.sql(new URL(url).pathname.slice(1), "SELECT version FROM moat_schema WHERE component = 'admin'")).trim()).toBe('1');
    await Promise.all([a.close(), b.close()]);
  });

  it('fails with AdminStoreError, without the password, when PostgreSQL is unreachable', async () => {
    const s = new PostgresAdminStore({ url: 'postgres://moat:s3cret@127.0.0.1:1/x', poolSize: 1, statementTimeoutMs: 2000 });
    const err = await s.countUsers().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AdminStoreError);
    expect(String((err as Error).message)).not.toContain('s3cret');
    await s.close();
  });
});

describe('PostgresMessageLog rollups', () => {
  it('counts per minute over every node, top lists, and per-node LAN servers and failures', async () => {
    const url = await pg.createDatabase(`stats${++n}`);
    const mk = (node: string) => new PostgresMessageLog({ url, node, poolSize: 2, statementTimeoutMs: 5000 });
    const [a, b] = [mk('node-a'), mk('node-b')];
    const recs = (from: number, k: number, action: TransactionEntry['action'], symbols: [string, string][] = []): LogRecord[] =>
      Array.from({ length: k }, (_, i) => ({ kind: 'transaction' as const, entry: entry(from + i, { action, verdict: { ...entry(0).verdict, findings: symbols.map(([s, c]) => finding(s, c)) } }) }));
    // Concurrent batches of both nodes (and two "workers" of node A) touching the same minute.
    await Promise.all([
      a.write(recs(0, 5, 'accept', [['BAYES_HAM', 'bayes']])),
      a.write(recs(10, 3, 'reject', [['CLAMAV_VIRUS', 'clamav']])),
      b.write(recs(20, 4, 'accept', [['CLAMAV_TEMPFAIL', 'clamav'], ['BAYES_HAM', 'bayes']])),
    ]);
    await a.write([{ kind: 'attempt', queueId: 'Q0', time: T0 + 100_000, recipients: ['b@example.test'], relay: '10.0.0.5:25', reply: '250 ok', outcome: 'delivered' }]);
    await b.write([{ kind: 'attempt', queueId: 'Q20', time: T0 + 110_000, recipients: ['b@example.test'], relay: '10.0.0.5:25', reply: '421 down', outcome: 'retry' }]);
    const s = await b.counts(T0, T0 + 5 * 60_000, 60_000);
    expect(s.from).toBe(T0);
    expect(s.counts.accept.slice(0, 2)).toEqual([9, 0]);
    expect(s.counts.reject[0]).toBe(3);
    expect(s.counts.delivered[1]).toBe(1);
    expect(s.counts.retried[1]).toBe(1);
    expect(await a.topSymbols(T0, 10)).toEqual([
      { symbol: 'BAYES_HAM', check: 'bayes', n: 9, refused: 0 },
      { symbol: 'CLAMAV_TEMPFAIL', check: 'clamav', n: 4, refused: 0 },
      { symbol: 'CLAMAV_VIRUS', check: 'clamav', n: 3, refused: 3 },
    ]);
    expect((await a.top('clientIp', T0, 1))[0]).toMatchObject({ n: 4 });
    expect((await a.top('senderDomain', T0, 5)).map((x) => x.value).sort()).toEqual(['d0.example', 'd1.example']);
    // The cluster's view of the server: the newest attempt (B's retry), the last delivery (A's).
    expect(await a.relays()).toEqual([{ target: '10.0.0.5:25', time: T0 + 110_000, outcome: 'retry', reply: '421 down', lastDelivered: T0 + 100_000 }]);
    const health = await a.nodeHealth(T0);
    expect(health.map((h) => [h.node, h.relays.map((r) => r.outcome), h.failures.map((f) => f.symbol)])).toEqual([
      ['node-a', ['delivered'], []],
      ['node-b', ['retry'], ['CLAMAV_TEMPFAIL']],
    ]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('PostgresNodeRegistry', () => {
  it('lists every node with its age by the server clock, and forgets nodes silent too long', async () => {
    const url = await pg.createDatabase(`nodes${++n}`);
    const r = new PostgresNodeRegistry({ url, statementTimeoutMs: 5000 });
    const beat = { startedAt: 1, pid: 2, workers: 2, ready: 2, queueSize: 3, queueOldest: 1000, queueError: null, stopped: false };
    await Promise.all([r.beat({ node: 'b', ...beat }), r.beat({ node: 'a', ...beat, queueOldest: null })]);
    await r.beat({ node: 'a', ...beat, ready: 1 });
    const list = await r.list(3_600_000);
    expect(list.map((x) => [x.node, x.ready, x.queueSize, x.queueOldest])).toEqual([
      ['a', 1, 3, 1000],
      ['b', 2, 3, 1000],
    ]);
    expect(list.every((x) => x.ageMs >= 0 && x.ageMs < 10_000)).toBe(true);
    await pg.sql(new URL(url).pathname.slice(1), "UPDATE cluster_nodes SET beat_at = now() - interval '2 hours' WHERE node = 'b'");
    const later = await r.list(3_600_000);
    expect(later.map((x) => x.node)).toEqual(['a']);
    await r.close();
  });
});
