// The PostgreSQL message log against a real PostgreSQL 15 started on loopback
// (test/harness/postgres.ts): the same behaviour as the SQLite adapter (entries, events, state,
// search filters and keyset pages, pruning), plus what only the cluster store has: the node column,
// migrations run safely by several nodes at once, and a transient MessageLogError when the server
// is unreachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../../test/harness/postgres.js';
import { stopAll } from '../../../test/harness/process.js';
import { MessageLogError, type TransactionEntry } from '../message-log.js';
import { PostgresMessageLog } from './message-log.js';

let pg: PostgresHandle;
let n = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 90_000);

afterAll(async () => {
  await stopAll();
});

function entry(i: number, over: Partial<TransactionEntry> = {}): TransactionEntry {
  return {
    time: 1_700_000_000_000 + i * 1000,
    queueId: `Q${String(i).padStart(8, '0')}`,
    sessionId: `s${i}`,
    client: { ip: `192.0.2.${i % 250}`, port: 40000 + i, ptr: null, helo: 'client.example', tls: null },
    sender: `Alice${i}@sender.example`,
    mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
    recipients: [{ address: `Bob${i}@example.test`, accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
    subject: `Report ${i}`,
    messageId: `<${i}@sender.example>`,
    size: 1234,
    phase: 'data',
    action: 'accept',
    verdict: { score: i / 2, thresholds: { tag: 5, quarantine: 10, reject: 15 }, profile: 'default', reason: 'score below every threshold', findings: [] },
    reply: { code: 250, status: '2.0.0', text: `Ok: queued as Q${i}` },
    scanMs: 3,
    ...over,
  };
}

const dbName = (url: string): string => new URL(url).pathname.slice(1);

async function freshLog(node: string, url?: string): Promise<PostgresMessageLog> {
  const db = url ?? (await pg.createDatabase(`log${++n}`));
  return new PostgresMessageLog({ url: db, node, poolSize: 2, statementTimeoutMs: 5000 });
}

describe('PostgresMessageLog', () => {
  it('keeps an entry with its attempts and final state, and names the node that wrote it', async () => {
    const log = await freshLog('node-a');
    const e = entry(1);
    await log.write([
      { kind: 'transaction', entry: e },
      { kind: 'attempt', queueId: e.queueId, time: e.time + 10, recipients: ['bob1@example.test'], relay: '10.0.0.5:25', reply: '451 4.3.0 later', outcome: 'retry' },
      { kind: 'attempt', queueId: e.queueId, time: e.time + 20, recipients: ['bob1@example.test'], relay: '10.0.0.5:25', reply: '250 2.0.0 ok', outcome: 'delivered' },
      { kind: 'state', queueId: e.queueId, time: e.time + 20, state: 'delivered' },
    ]);
    const story = await log.story(e.queueId);
    expect(story?.entry).toEqual(e);
    expect(story?.events.map((x) => (x.kind === 'attempt' ? x.outcome : x.state))).toEqual(['retry', 'delivered', 'delivered']);
    expect(story?.state).toBe('delivered');
    const page = await log.search({ limit: 10 });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ queueId: e.queueId, node: 'node-a', state: 'delivered', score: 0.5, sender: 'Alice1@sender.example' });
    expect(await log.story('NOPE')).toBeNull();
    await log.close();
  });

  it('a state written before its entry (another node was faster) wins', async () => {
    const log = await freshLog('a');
    const e = entry(2, { action: 'quarantine' });
    await log.write([{ kind: 'state', queueId: e.queueId, time: e.time, state: 'released' }]);
    await log.write([{ kind: 'transaction', entry: e }]);
    expect((await log.search({ limit: 5 })).items[0]?.state).toBe('released');
    await log.close();
  });

  it('searches by sender, recipient domain, client, subject and action, newest first, page by page', async () => {
    const log = await freshLog('a');
    await log.write(Array.from({ length: 25 }, (_, i) => ({ kind: 'transaction' as const, entry: entry(i + 1, i % 5 === 0 ? { action: 'reject', subject: 'Cheap 100%_off' } : {}) })));
    const ids = async (q: object): Promise<string[]> => (await log.search({ limit: 100, ...q })).items.map((x) => x.queueId);
    expect(await ids({ sender: 'ALICE3@sender.example' })).toEqual(['Q00000003']);
    expect(await ids({ sender: '@sender.example' })).toHaveLength(25);
    expect(await ids({ recipient: 'bob4@EXAMPLE.test' })).toEqual(['Q00000004']);
    expect(await ids({ recipient: '@example.test', action: 'reject' })).toEqual(['Q00000021', 'Q00000016', 'Q00000011', 'Q00000006', 'Q00000001']);
    expect(await ids({ clientIp: '192.0.2.7' })).toEqual(['Q00000007']);
    expect(await ids({ subject: 'report 1' })).toHaveLength(8); // 10..19 but 11 and 16 (rejects, another subject); case ignored
    expect(await ids({ subject: '100%_', subjectMatch: 'contains' })).toHaveLength(5);
    expect(await ids({ subject: '100%x', subjectMatch: 'contains' })).toHaveLength(0); // % and _ are literal
    expect(await ids({ since: 1_700_000_000_000 + 24_000 })).toEqual(['Q00000025', 'Q00000024']);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await log.search({ limit: 10, ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...page.items.map((x) => x.queueId));
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen[0]).toBe('Q00000025');
    await expect(log.search({ limit: 5, cursor: 'garbage' })).rejects.toBeInstanceOf(MessageLogError);
    expect(await log.prune(1_700_000_000_000 + 11_000, 1000)).toBe(10);
    expect(await ids({})).toHaveLength(15);
    await log.close();
  });

  it('migrates once when several nodes start together (advisory lock), and they share the rows', async () => {
    const url = await pg.createDatabase(`log${++n}`);
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map((x) => freshLog(x, url)));
    await Promise.all(nodes.map((l) => l.init()));
    await Promise.all(nodes.map((l, i) => l.write([{ kind: 'transaction', entry: entry(100 + i) }])));
    const page = await (nodes[0] as PostgresMessageLog).search({ limit: 10 });
    expect(page.items.map((x) => x.node).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect((await pg.sql(dbName(url), "SELECT version FROM moat_schema WHERE component = 'message-log'")).trim()).toBe('2');
    await Promise.all(nodes.map((l) => l.close()));
  });

  it('refuses a database whose schema is newer than this Moat', async () => {
    const url = await pg.createDatabase(`log${++n}`);
    const log = await freshLog('a', url);
    await log.init();
    await pg.sql(dbName(url), "UPDATE moat_schema SET version = 99 WHERE component = 'message-log'");
    const other = await freshLog('b', url);
    await expect(other.init()).rejects.toThrow(/newer than this Moat/);
    await Promise.all([log.close(), other.close()]);
  });

  it('fails with a transient MessageLogError, without the password, when PostgreSQL is unreachable', async () => {
    const log = new PostgresMessageLog({ url: 'postgres://moat:s3cret@127.0.0.1:1/none', node: 'a', poolSize: 1, statementTimeoutMs: 2000 });
    const err = await log.write([{ kind: 'transaction', entry: entry(1) }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MessageLogError);
    expect((err as MessageLogError).transient).toBe(true);
    expect((err as Error).message).not.toContain('s3cret');
    await log.close();
  });
});
