// The message log's own cost per message, without the SMTP around it: N transactions (an entry
// with one recipient, one delivery attempt, one final state) go through the journal's consumers
// as the gateway wires them — metrics, then the in-memory buffer — and into a SQLite file in a
// scratch dir, flushed in batches as in the gateway. Prints the CPU time (user + system) of this
// process per message for the push alone and for the push plus the SQLite writes.
// Usage: npm run build && node dist/bench/message-log.js [N]   (default 20000; at most 1000000)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayMetrics } from '../src/admin/metrics.js';
import { MessageLogBuffer } from '../src/store/message-log-buffer.js';
import type { LogRecord, TransactionEntry } from '../src/store/message-log.js';
import { SqliteMessageLog } from '../src/store/sqlite/message-log.js';

const n = Math.min(1_000_000, Math.max(1, Number(process.argv[2] ?? 20_000)));

function records(i: number): LogRecord[] {
  const queueId = `0MX${String(i).padStart(6, '0')}ABCDEF01`;
  const entry: TransactionEntry = {
    time: 1_700_000_000_000 + i,
    queueId,
    sessionId: `s${i}`,
    client: { ip: `192.0.2.${i % 250}`, port: 40000 + (i % 20000), ptr: null, helo: 'client.example', tls: null },
    sender: `sender${i % 500}@sender.example`,
    mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
    recipients: [{ address: `user${i % 100}@example.test`, accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null }],
    subject: `Quarterly report ${i}`,
    messageId: `<${i}.bench@sender.example>`,
    size: 5120,
    phase: 'data',
    action: 'accept',
    verdict: {
      score: 2,
      thresholds: { tag: 5, quarantine: 8, reject: 15 },
      profile: 'default',
      reason: 'score 2 below every threshold',
      findings: [{ symbol: 'SENDER_OWN_DOMAIN_OUTSIDE', check: 'sender-lists', phase: 'mailFrom', score: 2, detail: 'sender.example', description: 'MAIL FROM in one of our domains from a client outside internalNetworks', observed: false }],
    },
    reply: { code: 250, status: '2.0.0', text: `Ok: queued as ${queueId}` },
    scanMs: 0.4,
  };
  return [
    { kind: 'transaction', entry },
    { kind: 'attempt', queueId, time: entry.time + 50, recipients: [entry.recipients[0]?.address ?? ''], relay: '10.0.0.5:25', reply: '250 2.0.0 Ok: queued as 4F1A2B', outcome: 'delivered' },
    { kind: 'state', queueId, time: entry.time + 50, state: 'delivered' },
  ];
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const dir = await mkdtemp(join(tmpdir(), 'moat-msglog-bench-'));
try {
  const metrics = new GatewayMetrics({ queues: () => [], now: () => Date.now() });
  const store = new SqliteMessageLog(join(dir, 'store.db'));
  const buffer = new MessageLogBuffer(store, { flushMs: 100, batch: 500, maxBuffered: 2_000_000, onError: (e) => console.error(String(e)) });
  const batches = Array.from({ length: n }, (_, i) => records(i));
  const t0 = cpuMs();
  for (const rs of batches) {
    const [first] = rs;
    if (first?.kind === 'transaction') metrics.transaction(first.entry);
    for (const r of rs) buffer.add(r);
  }
  const t1 = cpuMs();
  await buffer.close();
  const t2 = cpuMs();
  const us = (ms: number): string => `${((ms * 1000) / n).toFixed(1)} µs`;
  process.stdout.write(`${n} messages: journal + metrics + buffer push ${us(t1 - t0)}/message, SQLite writes ${us(t2 - t1)}/message, total ${us(t2 - t0)}/message (${buffer.written} records written, ${buffer.dropped} dropped)\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
