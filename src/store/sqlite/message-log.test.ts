import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoggedAction, MessageSearch, TransactionEntry } from '../message-log.js';
import { MessageLogError } from '../message-log.js';
import { SqliteMessageLog } from './message-log.js';

let dir: string;
let log: SqliteMessageLog;

function entry(n: number, over: Partial<TransactionEntry> = {}): TransactionEntry {
  return {
    time: 1_700_000_000_000 + n * 1000,
    queueId: `Q${String(n).padStart(8, '0')}`,
    sessionId: `s${n}`,
    client: { ip: `192.0.2.${n % 250}`, port: 40000 + n, ptr: null, helo: 'client.example', tls: null },
    sender: `alice${n}@sender.example`,
    mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
    recipients: [{ address: `Bob${n}@example.test`, accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
    subject: `Report ${n}`,
    messageId: `<${n}@sender.example>`,
    size: 1234,
    phase: 'data',
    action: 'accept',
    verdict: { score: 0, thresholds: { tag: 5, quarantine: 10, reject: 15 }, profile: 'default', reason: 'score 0 below every threshold', findings: [] },
    reply: { code: 250, status: '2.0.0', text: `Ok: queued as Q${n}` },
    scanMs: 3,
    ...over,
  };
}

async function ids(q: Omit<MessageSearch, 'limit'> & { limit?: number }): Promise<string[]> {
  return (await log.search({ limit: 100, ...q })).items.map((i) => i.queueId);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-msglog-'));
  log = new SqliteMessageLog(join(dir, 'store.db'));
});

afterEach(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteMessageLog', () => {
  it('keeps a whole transaction entry with its delivery attempts and final state, in order', async () => {
    const e = entry(1, {
      verdict: {
        score: 3.5,
        thresholds: { tag: 5, quarantine: null, reject: 15 },
        profile: 'example.test',
        reason: 'score 3.5 below every threshold',
        findings: [{ symbol: 'SENDER_OWN_DOMAIN_OUTSIDE', check: 'sender-lists', phase: 'mailFrom', score: 3.5, detail: 'x', description: 'd', observed: false }],
      },
    });
    await log.write([
      { kind: 'transaction', entry: e },
      { kind: 'attempt', queueId: e.queueId, time: e.time + 10, recipients: ['Bob1@example.test'], relay: '127.0.0.1', reply: '451 4.3.0 try later', outcome: 'retry' },
      { kind: 'attempt', queueId: e.queueId, time: e.time + 20, recipients: ['Bob1@example.test'], relay: '127.0.0.1', reply: '250 2.0.0 Ok', outcome: 'delivered' },
      { kind: 'state', queueId: e.queueId, time: e.time + 20, state: 'delivered' },
    ]);
    const s = await log.story(e.queueId);
    expect(s?.entry).toEqual(e);
    expect(s?.events.map((x) => (x.kind === 'attempt' ? x.outcome : x.state))).toEqual(['retry', 'delivered', 'delivered']);
    expect(s?.state).toBe('delivered');
    const [item] = (await log.search({ queueId: e.queueId, limit: 10 })).items;
    expect(item).toMatchObject({ queueId: e.queueId, state: 'delivered', action: 'accept', score: 3.5, recipients: ['Bob1@example.test'] });
    expect(await log.story('NOPE')).toBeNull();
  });

  it('finds entries by each filter: time, queue id, sender, recipient, client IP, subject and action', async () => {
    const actions: LoggedAction[] = ['accept', 'reject', 'defer', 'quarantine', 'tag', 'abandoned'];
    const batch = Array.from({ length: 12 }, (_, i) => ({ kind: 'transaction' as const, entry: entry(i, { action: actions[i % actions.length] as LoggedAction }) }));
    batch.push({ kind: 'transaction', entry: entry(20, { sender: null, recipients: [], subject: null, phase: 'connect', action: 'reject', client: { ip: '198.51.100.7', port: 1, ptr: null, helo: null, tls: null } }) });
    batch.push({ kind: 'transaction', entry: entry(21, { sender: 'Carol@Other.example', subject: '100% off_sale' }) });
    await log.write(batch);
    const base = 1_700_000_000_000;
    expect(await ids({ since: base + 3000, until: base + 6000 })).toEqual(['Q00000005', 'Q00000004', 'Q00000003']);
    expect(await ids({ queueId: 'Q00000007' })).toEqual(['Q00000007']);
    expect(await ids({ sender: 'ALICE4@sender.example' })).toEqual(['Q00000004']);
    expect(await ids({ sender: '@other.example' })).toEqual(['Q00000021']);
    expect(await ids({ recipient: 'bob9@example.test' })).toEqual(['Q00000009']);
    expect(await ids({ recipient: '@example.test', until: base + 2000 })).toEqual(['Q00000001', 'Q00000000']);
    expect(await ids({ clientIp: '198.51.100.7' })).toEqual(['Q00000020']);
    expect(await ids({ subject: 'report 1' })).toEqual(['Q00000011', 'Q00000010', 'Q00000001']);
    expect(await ids({ subject: '% off_', subjectMatch: 'contains' })).toEqual(['Q00000021']);
    expect(await ids({ subject: '100_' })).toEqual([]); // LIKE wildcards in the query are literal
    expect(await ids({ action: 'defer' })).toEqual(['Q00000008', 'Q00000002']);
    expect(await ids({ action: 'reject', sender: 'alice7@sender.example' })).toEqual(['Q00000007']);
  });

  it('pages with a keyset cursor on time and id, also through entries of the same millisecond', async () => {
    const batch = [];
    for (let i = 0; i < 25; i++) batch.push({ kind: 'transaction' as const, entry: entry(i, { time: 1_700_000_000_000 + Math.floor(i / 5) }) });
    await log.write(batch);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await log.search({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.queueId));
      cursor = page.next;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    // Newest first: time descending, then insertion (id) descending.
    expect(seen.slice(0, 3)).toEqual(['Q00000024', 'Q00000023', 'Q00000022']);
    expect(seen.at(-1)).toBe('Q00000000');
    await expect(log.search({ limit: 5, cursor: 'garbage' })).rejects.toBeInstanceOf(MessageLogError);
  });

  it('prunes entries and events older than the retention in batches, recipients with them', async () => {
    const batch = [];
    for (let i = 0; i < 30; i++) {
      const e = entry(i);
      batch.push({ kind: 'transaction' as const, entry: e }, { kind: 'state' as const, queueId: e.queueId, time: e.time + 1, state: 'delivered' as const });
    }
    await log.write(batch);
    const cut = entry(20).time; // entries 0..19 (and their events) are older
    expect(await log.prune(cut, 8)).toBe(16);
    expect(await log.prune(cut, 8)).toBe(16);
    expect(await log.prune(cut, 8)).toBe(8);
    expect(await log.prune(cut, 8)).toBe(0);
    expect(await ids({})).toHaveLength(10);
    expect(await ids({ recipient: 'bob3@example.test' })).toEqual([]);
    expect(await log.story('Q00000003')).toBeNull();
    expect((await log.story('Q00000025'))?.state).toBe('delivered');
  });

  it('keeps a state written before its entry (another worker flushed first)', async () => {
    const e = entry(1);
    await log.write([{ kind: 'state', queueId: e.queueId, time: e.time + 5, state: 'released' }]);
    await log.write([{ kind: 'transaction', entry: { ...e, action: 'quarantine' } }]);
    expect((await log.search({ queueId: e.queueId, limit: 1 })).items[0]?.state).toBe('released');
  });

  it('is read by a read-only handle while the writer has it open, and refuses writes through it', async () => {
    await log.write([{ kind: 'transaction', entry: entry(1) }]);
    const reader = new SqliteMessageLog(join(dir, 'store.db'), { readonly: true });
    try {
      expect((await reader.story('Q00000001'))?.entry?.sender).toBe('alice1@sender.example');
      await log.write([{ kind: 'transaction', entry: entry(2) }]);
      expect(await reader.story('Q00000002')).not.toBeNull();
      await expect(reader.write([{ kind: 'transaction', entry: entry(3) }])).rejects.toBeInstanceOf(MessageLogError);
    } finally {
      await reader.close();
    }
    expect(() => new SqliteMessageLog(join(dir, 'absent.db'), { readonly: true })).toThrow(MessageLogError);
  });

  it('is written by two processes on the same file, every entry kept once', async () => {
    const script = join(dir, 'child.mjs');
    // The child runs the built module (npm test builds first), as the gateway's workers do.
    const module = new URL('../../../dist/src/store/sqlite/message-log.js', import.meta.url).pathname;
    await writeFile(
      script,
      `const { SqliteMessageLog } = await import(${JSON.stringify(module)});
       const tag = process.argv[3];
       const log = new SqliteMessageLog(process.argv[2]);
       const e = (n) => ({ time: 1_700_000_000_000 + n, queueId: tag + n, sessionId: tag, client: { ip: '127.0.0.1', port: 1, ptr: null, helo: null, tls: null },
         sender: tag + '@x.example', mailReply: null, recipients: [{ address: 'r' + n + '@example.test', accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
         subject: null, messageId: null, size: null, phase: 'data', action: 'accept', reply: null, scanMs: null,
         verdict: { score: 0, thresholds: { tag: null, quarantine: null, reject: null }, profile: 'default', reason: '', findings: [] } });
       for (let b = 0; b < 20; b++) await log.write(Array.from({ length: 25 }, (_, i) => ({ kind: 'transaction', entry: e(b * 25 + i) })));
       await log.close();`,
    );
    const run = (tag: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const p = fork(script, [join(dir, 'store.db'), tag], { stdio: 'inherit' });
        p.on('error', reject);
        p.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run('A'), run('B')])).toEqual([0, 0]);
    for (const tag of ['A', 'B']) {
      const all: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 5; pages++) {
        const page = await log.search({ sender: `${tag.toLowerCase()}@x.example`, limit: 200, ...(cursor ? { cursor } : {}) });
        all.push(...page.items.map((i) => i.queueId));
        cursor = page.next;
        if (!cursor) break;
      }
      expect(new Set(all).size).toBe(500);
    }
  });
});
