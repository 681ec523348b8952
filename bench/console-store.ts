// What the console's dashboard costs on the message store, SQLite file vs PostgreSQL on loopback:
// N transactions spread over the last week (two nodes on PostgreSQL, one symbol each, a delivery
// attempt for most) are written in batches of 500 as the gateway's buffer writes them, then the
// dashboard's store reads — counts per bucket, top symbols, top client IPs and sender domains, LAN
// servers, and on PostgreSQL the per-node health — run together as /api/dashboard runs them, for
// each range (hour, day, week); the median and the worst of 15 rounds are printed, and one search
// (the tracking page's first page) too. PostgreSQL is started by this script on a free loopback
// port and stopped by PID (test/harness/postgres.ts).
// Usage: npm run build && node dist/bench/console-store.js [N]   (default 100000; at most 2000000)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRecord, MessageLogStore } from '../src/store/message-log.js';
import type { MessageStatsReader } from '../src/store/message-stats.js';
import { PostgresMessageLog } from '../src/store/postgres/message-log.js';
import { SqliteMessageLog } from '../src/store/sqlite/message-log.js';
import { startPostgres } from '../test/harness/postgres.js';
import { stopAll } from '../test/harness/process.js';

const n = Math.max(1000, Math.min(2_000_000, Number(process.argv[2] ?? 100_000) || 100_000));
const WEEK = 7 * 24 * 3_600_000;
const now = Date.now();
const SYMBOLS = [['BAYES_HAM', 'bayes'], ['SPF_PASS', 'spf'], ['DNSBL_ZEN', 'dnsbl'], ['CLAMAV_TEMPFAIL', 'clamav'], ['URIBL_BLACK', 'urls']] as const;
const ACTIONS = ['accept', 'accept', 'accept', 'tag', 'reject', 'defer', 'quarantine'] as const;

function records(i: number): LogRecord[] {
  const time = now - Math.floor((i * WEEK) / n);
  const queueId = `B${String(i).padStart(9, '0')}`;
  const [symbol, check] = SYMBOLS[i % SYMBOLS.length] as (typeof SYMBOLS)[number];
  const action = ACTIONS[i % ACTIONS.length] as (typeof ACTIONS)[number];
  const out: LogRecord[] = [
    {
      kind: 'transaction',
      entry: {
        time,
        queueId,
        sessionId: `s${i}`,
        client: { ip: `198.51.100.${i % 200}`, port: 40000, ptr: null, helo: 'client.example', tls: null },
        sender: `user${i % 300}@domain${i % 700}.example`,
        mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
        recipients: [{ address: `rcpt${i % 50}@example.test`, accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
        subject: `Report ${i}`,
        messageId: null,
        size: 4000,
        phase: 'data',
        action,
        verdict: { score: 1, thresholds: { tag: 5, quarantine: 8, reject: 15 }, profile: 'default', reason: 'r', findings: [{ symbol, check, phase: 'data', score: 1, detail: '', description: '', observed: false }] },
        reply: { code: 250, status: '2.0.0', text: `Ok: queued as ${queueId}` },
        scanMs: 1,
      },
    },
  ];
  if (action === 'accept' || action === 'tag') {
    out.push({ kind: 'attempt', queueId, time: time + 500, recipients: [`rcpt${i % 50}@example.test`], relay: `10.0.0.${5 + (i % 2)}:25`, reply: '250 2.0.0 Ok', outcome: 'delivered' });
  }
  return out;
}

type Store = MessageLogStore & MessageStatsReader;

async function fill(stores: readonly Store[]): Promise<number> {
  const t0 = performance.now();
  let batch: LogRecord[] = [];
  for (let i = 0; i < n; i++) {
    batch.push(...records(i));
    if (batch.length >= 500 || i === n - 1) {
      await (stores[i % stores.length] as Store).write(batch);
      batch = [];
    }
  }
  return performance.now() - t0;
}

const RANGES = { hour: [3_600_000, 60_000], day: [86_400_000, 900_000], week: [WEEK, 3_600_000] } as const;

async function dashboard(s: Store, range: keyof typeof RANGES): Promise<void> {
  const [span, bucket] = RANGES[range];
  const since = now - span;
  await Promise.all([s.counts(since, now + 60_000, bucket), s.topSymbols(since, 100), s.top('clientIp', since, 10), s.top('senderDomain', since, 10), s.relays(), s.nodeHealth ? s.nodeHealth(since) : null]);
}

async function timed(what: string, fn: () => Promise<unknown>): Promise<void> {
  const ms: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`  ${what.padEnd(22)} median ${(ms[7] as number).toFixed(1)} ms, worst ${(ms[14] as number).toFixed(1)} ms`);
}

async function measure(name: string, stores: readonly Store[]): Promise<void> {
  const writeMs = await fill(stores);
  console.log(`${name}: ${n} transactions written in ${(writeMs / 1000).toFixed(1)} s (${Math.round(n / (writeMs / 1000))}/s, batches of 500, rollups included)`);
  const s = stores[0] as Store;
  for (const range of Object.keys(RANGES) as (keyof typeof RANGES)[]) await timed(`dashboard ${range}`, () => dashboard(s, range));
  await timed('tracking first page', () => s.search({ limit: 50 }));
  await timed('tracking by sender', () => s.search({ limit: 50, sender: '@domain7.example' }));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'moat-console-bench-'));
  try {
    const sqlite = new SqliteMessageLog(join(dir, 'store.db'));
    await measure('SQLite store.db', [sqlite]);
    await sqlite.close();
    const pg = await startPostgres();
    const url = await pg.createDatabase('bench');
    const nodes = ['node-a', 'node-b'].map((node) => new PostgresMessageLog({ url, node, poolSize: 4, statementTimeoutMs: 60_000 }));
    await measure('PostgreSQL 15 (2 nodes writing)', nodes);
    await Promise.all(nodes.map((x) => x.close()));
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
