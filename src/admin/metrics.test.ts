import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/harness/ports.js';
import { MetricsCollector, type MetricsRequest } from '../cli/metrics-ipc.js';
import type { TransactionEntry } from '../store/message-log.js';
import { GatewayMetrics, mergeSnapshots, type MetricsSnapshot } from './metrics.js';
import { isLoopback, metricsRoutes, startAdminServer, type AdminServer } from './metrics-server.js';

function entry(over: Partial<TransactionEntry>): TransactionEntry {
  return {
    time: 0, queueId: 'Q', sessionId: 's', client: { ip: '192.0.2.1', port: 1, ptr: null, helo: null, tls: null },
    sender: 'a@b.example', mailReply: null, recipients: [], subject: null, messageId: null, size: null, phase: 'data', action: 'accept',
    verdict: { score: 0, thresholds: { tag: null, quarantine: null, reject: null }, profile: 'default', reason: '', findings: [] }, reply: null, scanMs: null,
    ...over,
  };
}
const refused = { address: 'x@y.example', accepted: false, reply: { code: 554, status: '5.7.1', text: 'Relay access denied' }, symbol: 'RCPT_NOT_LOCAL' };
const finding = (symbol: string) => ({ symbol, check: 'c', phase: 'rcptTo' as const, score: 0, detail: '', description: '', observed: false });

function value(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('GatewayMetrics merged over workers', () => {
  it('adds up counters and histograms, keeps per-shard gauges apart and takes the max of the quarantine size', async () => {
    const a = new GatewayMetrics({ queues: () => [{ shard: 0, size: 3, oldestReceivedAt: 1000 }], quarantineSize: async () => 7, now: () => 61_000 });
    const b = new GatewayMetrics({ queues: () => [{ shard: 1, size: 0, oldestReceivedAt: null }], quarantineSize: async () => 7, now: () => 61_000 });
    a.transaction(entry({ action: 'accept', scanMs: 4 }));
    b.transaction(entry({ action: 'accept', scanMs: 40 }));
    // Two refused recipients, the transaction ended at RCPT: two refusals, not three.
    b.transaction(entry({ action: 'reject', phase: 'rcptTo', recipients: [refused, refused], verdict: { ...entry({}).verdict, findings: [finding('RCPT_NOT_LOCAL'), finding('RCPT_NOT_LOCAL')] } }));
    a.transaction(entry({ action: 'defer', phase: 'mailFrom', sender: 'x@y.example' }));
    a.deliveryResult('delivered', 2500);
    b.deliveryResult('retry', 100);
    b.messageLogDropped(3);
    const text = await mergeSnapshots([await a.snapshot(), await b.snapshot()]);
    expect(value(text, 'moat_messages_total{action="accept"}')).toBe(2);
    expect(value(text, 'moat_messages_total{action="reject"}')).toBe(1);
    expect(value(text, 'moat_refusals_total{phase="rcptTo",action="reject"}')).toBe(2);
    expect(value(text, 'moat_refusals_total{phase="mailFrom",action="defer"}')).toBe(1);
    expect(value(text, 'moat_symbol_hits_total{check="c",symbol="RCPT_NOT_LOCAL"}')).toBe(1);
    expect(value(text, 'moat_scan_duration_seconds_count')).toBe(2);
    expect(value(text, 'moat_scan_duration_seconds_bucket{le="0.005"}')).toBe(1);
    expect(value(text, 'moat_scan_duration_seconds_bucket{le="0.05"}')).toBe(2);
    expect(value(text, 'moat_delivery_attempts_total{outcome="delivered"}')).toBe(1);
    expect(value(text, 'moat_delivery_attempts_total{outcome="retry"}')).toBe(1);
    expect(value(text, 'moat_delivery_duration_seconds_sum')).toBe(2.5);
    expect(value(text, 'moat_queue_messages{shard="0"}')).toBe(3);
    expect(value(text, 'moat_queue_messages{shard="1"}')).toBe(0);
    expect(value(text, 'moat_queue_oldest_age_seconds{shard="0"}')).toBe(60);
    expect(value(text, 'moat_quarantine_messages')).toBe(7);
    expect(value(text, 'moat_messagelog_dropped_total')).toBe(3);
  });
});

describe('MetricsCollector', () => {
  it('merges the answers, and stands in a silent worker\'s last snapshot until it is forgotten', async () => {
    const metrics = [0, 1].map(() => new GatewayMetrics({ queues: () => [], now: () => 0 }));
    metrics.forEach((m) => m.transaction(entry({})));
    const collector = new MetricsCollector(100);
    let silent = false;
    const peers = metrics.map((m, key) => ({
      key,
      send: (req: MetricsRequest) => {
        if (key === 1 && silent) return;
        void m.snapshot().then((snapshot: MetricsSnapshot) => collector.answer({ type: 'metrics', seq: req.seq, snapshot }));
      },
    }));
    expect(value(await collector.collect(peers, []), 'moat_messages_total{action="accept"}')).toBe(2);
    silent = true;
    metrics[0]?.transaction(entry({}));
    expect(value(await collector.collect(peers, []), 'moat_messages_total{action="accept"}')).toBe(3);
    collector.forget(1);
    expect(value(await collector.collect(peers, []), 'moat_messages_total{action="accept"}')).toBe(2);
  });
});

describe('the admin server', () => {
  let server: AdminServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  const call = (port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves /metrics and /healthz, and nothing else', async () => {
    const port = await freePort();
    let healthy = false;
    let fail = false;
    server = await startAdminServer(`127.0.0.1:${port}`, metricsRoutes({
      metrics: async () => {
        if (fail) throw new Error('secret detail');
        return 'moat_up 1\n';
      },
      health: () => ({ ok: healthy, detail: { ready: healthy ? 2 : 1 } }),
    }));
    expect(await call(port, '/metrics')).toEqual({ status: 200, body: 'moat_up 1\n' });
    expect(await call(port, '/healthz')).toEqual({ status: 503, body: '{"status":"unavailable","ready":1}\n' });
    healthy = true;
    expect((await call(port, '/healthz?x=1')).status).toBe(200);
    expect((await call(port, '/metrics', 'POST')).status).toBe(405);
    expect((await call(port, '/admin')).status).toBe(404);
    fail = true;
    const failed = await call(port, '/metrics');
    expect(failed.status).toBe(500);
    expect(failed.body).not.toContain('secret');
  });

  it('tells loopback addresses from others', () => {
    expect(isLoopback('127.0.0.1:8025')).toBe(true);
    expect(isLoopback('[::1]:8025')).toBe(true);
    expect(isLoopback('0.0.0.0:8025')).toBe(false);
    expect(isLoopback('10.0.0.2:8025')).toBe(false);
  });
});
