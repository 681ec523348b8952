// `moat store migrate` against a real redis-server and a real PostgreSQL on loopback: live state
// keys arrive in Redis with their absolute expiry and expired ones do not; the message log arrives
// in PostgreSQL with every entry, event and final state, marked with the node name; a second copy
// into a non-empty log is refused; a bayes.db's tokens (64-bit ids exact), totals and learned ids
// arrive in the Redis Bayes store, which answers the same lookups, and a second copy is refused;
// console users arrive with their hashes and roles, and a name
// the target already has is kept as it is there.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../test/harness/postgres.js';
import { startRedis, type RedisHandle } from '../../test/harness/redis.js';
import { stopAll } from '../../test/harness/process.js';
import { systemClock } from '../platform/clock.js';
import { RedisStateStore } from '../store/redis/state.js';
import { RedisBayesStore } from '../store/redis/bayes.js';
import { SqliteBayesStore } from '../store/sqlite/bayes.js';
import { tokenHash } from '../store/bayes.js';
import { PostgresMessageLog } from '../store/postgres/message-log.js';
import { SqliteMessageLog } from '../store/sqlite/message-log.js';
import { SqliteStateStore } from '../store/sqlite/state.js';
import { SqliteAdminStore } from '../store/sqlite/admin.js';
import { PostgresAdminStore } from '../store/postgres/admin.js';
import type { TransactionEntry } from '../store/message-log.js';
import { migrateStore } from './store-migrate.js';

let dir: string;
let redis: RedisHandle;
let pg: PostgresHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-migrate-'));
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
}, 90_000);

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const entry = (i: number): TransactionEntry => ({
  time: 1_700_000_000_000 + i,
  queueId: `M${i}`,
  sessionId: `s${i}`,
  client: { ip: '192.0.2.1', port: 1, ptr: null, helo: 'h.example', tls: null },
  sender: `a${i}@x.example`,
  mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
  recipients: [{ address: 'b@example.test', accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
  subject: `S${i}`,
  messageId: null,
  size: 10,
  phase: 'data',
  action: 'accept',
  verdict: { score: 0, thresholds: { tag: 5, quarantine: 10, reject: 15 }, profile: 'default', reason: 'r', findings: [] },
  reply: { code: 250, status: '2.0.0', text: 'Ok' },
  scanMs: 1,
});

describe('moat store migrate', () => {
  it('copies live state keys into Redis with their expiry, under the prefix', async () => {
    const file = join(dir, 'state.db');
    const s = new SqliteStateStore(file, systemClock);
    await s.set('greylist:passed:x', '123', 3_600_000);
    await s.increment('rate:c:1', 7, 3_600_000);
    await s.set('gone', 'x', 1);
    await s.close();
    const lines: string[] = [];
    await migrateStore({ from: `sqlite:${file}`, to: `redis://127.0.0.1:${redis.port}/0`, keyPrefix: 'mig:', node: 'n1', stagingDir: join(dir, 'stage') }, (l) => lines.push(l));
    expect(lines).toEqual(['state: 2 live keys copied']);
    const r = new RedisStateStore({ url: `redis://127.0.0.1:${redis.port}/0`, keyPrefix: 'mig:', commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
    await r.ready(5000);
    expect(await r.get('greylist:passed:x')).toBe('123');
    expect(await r.increment('rate:c:1', 1, 1000)).toBe(8); // a counter, with its own (kept) expiry
    expect(await r.get('gone')).toBeNull();
    await r.close();
  });

  it('copies the Bayes tokens into Redis: the same lookups, learned ids kept, once', async () => {
    const file = join(dir, 'bayes.db');
    const tokens = Array.from({ length: 1200 }, (_, i) => tokenHash(`w${i}`));
    const sq = new SqliteBayesStore(file);
    await sq.learn([{ id: 's1', as: 'spam', tokens }, { id: 'h1', as: 'ham', tokens: tokens.slice(0, 600) }, { id: 'h2', as: 'ham', tokens: tokens.slice(0, 10) }], 5000);
    const want = await sq.lookup(tokens);
    await sq.close();
    const o = { from: `sqlite:${file}`, to: `redis://127.0.0.1:${redis.port}/0`, keyPrefix: 'migb:', node: 'n1', stagingDir: join(dir, 'stage') };
    const lines: string[] = [];
    await migrateStore(o, (l) => lines.push(l));
    expect(lines).toEqual(['bayes: 1200 tokens and 3 learned messages copied']);
    const r = new RedisBayesStore({ url: o.to, keyPrefix: 'migb:', commandTimeoutMs: 2000, connectTimeoutMs: 1000 });
    await r.ready(5000);
    const got = await r.lookup(tokens);
    expect(got.totals).toEqual({ spam: 1, ham: 2 });
    expect(got.counts).toEqual(want.counts);
    expect(await r.learnedAs('h1')).toBe('ham');
    // Learned again on the cluster: known; forgotten: its counts go.
    expect(await r.learn([{ id: 's1', as: 'spam', tokens }], 6000)).toEqual(['known']);
    expect(await r.forget([{ id: 'h2', tokens: tokens.slice(0, 10) }])).toEqual([true]);
    expect((await r.lookup(tokens.slice(0, 1))).counts.get(tokens[0] as bigint)).toEqual({ spam: 1, ham: 1 });
    // Expiry sees the copied times: everything was learned at 5000.
    expect(await r.expire({ before: 5001, rareBelow: 2, maxTokens: 1_000_000 })).toBe(600);
    await r.close();
    await expect(migrateStore(o, () => undefined)).rejects.toThrow(/already holds learned Bayes/);
  });

  it('copies the message log into PostgreSQL with the node name, once', async () => {
    const file = join(dir, 'store.db');
    const log = new SqliteMessageLog(file);
    await log.write([
      { kind: 'transaction', entry: entry(1) },
      { kind: 'transaction', entry: entry(2) },
      { kind: 'state', queueId: 'M1', time: 1_700_000_000_100, state: 'delivered' },
    ]);
    await log.close();
    const url = await pg.createDatabase('migrated');
    const lines: string[] = [];
    const o = { from: `sqlite:${file}`, to: url, keyPrefix: 'moat:', node: 'old-box', stagingDir: join(dir, 'stage') };
    await migrateStore(o, (l) => lines.push(l));
    expect(lines).toEqual(['message log: 2 entries and 1 events copied']);
    const pgLog = new PostgresMessageLog({ url, node: 'x', poolSize: 1, statementTimeoutMs: 5000 });
    const page = await pgLog.search({ limit: 10 });
    expect(page.items.map((i) => [i.queueId, i.node, i.state])).toEqual([
      ['M2', 'old-box', 'queued'],
      ['M1', 'old-box', 'delivered'],
    ]);
    expect((await pgLog.story('M1'))?.entry).toEqual(entry(1));
    await pgLog.close();
    await expect(migrateStore(o, () => undefined)).rejects.toThrow(/not empty/);
  });

  it('copies the console users (hashes and roles) into PostgreSQL, keeping the ones already there', async () => {
    const file = join(dir, 'admin.db');
    const local = new SqliteAdminStore(file);
    await local.putUser({ name: 'root', role: 'admin', passwordHash: 'scrypt$local-root', createdAt: 5, updatedAt: 6 });
    await local.putUser({ name: 'desk', role: 'helpdesk', passwordHash: 'scrypt$local-desk', createdAt: 7, updatedAt: 7 });
    await local.close();
    const url = await pg.createDatabase('users');
    const shared = new PostgresAdminStore({ url, poolSize: 1, statementTimeoutMs: 5000 });
    await shared.putUser({ name: 'root', role: 'readonly', passwordHash: 'scrypt$shared-root', createdAt: 1, updatedAt: 1 });
    const lines: string[] = [];
    await migrateStore({ from: `sqlite:${file}`, to: url, keyPrefix: 'moat:', node: 'n', stagingDir: join(dir, 'stage') }, (l) => lines.push(l));
    expect(lines).toEqual(['console users: 1 copied, 1 already there (kept)']);
    expect(await shared.getUser('desk')).toEqual({ name: 'desk', role: 'helpdesk', passwordHash: 'scrypt$local-desk', createdAt: 7, updatedAt: 7 });
    expect((await shared.getUser('root'))?.passwordHash).toBe('scrypt$shared-root');
    await shared.close();
  });

  it('refuses a file that is not the store the target needs', async () => {
    await expect(migrateStore({ from: `sqlite:${join(dir, 'store.db')}`, to: `redis://127.0.0.1:${redis.port}/0`, keyPrefix: 'm:', node: 'n', stagingDir: dir }, () => undefined)).rejects.toThrow(/not a state store/);
  });
});
