/**
 * The gateway's metrics (prom-client): one registry per worker process, fed by the same transaction
 * entries as the message log and by the scheduler's delivery events; queue and quarantine gauges
 * are read when scraped. The supervisor merges the workers' registries (metrics-ipc.ts) with
 * prom-client's AggregatorRegistry.aggregate: counters and histograms add up, per-shard gauges are
 * disjoint (one owner per shard), the quarantine gauge takes the max (every worker sees the one
 * directory). Label values come only from our own vocabularies (actions, phases, check and symbol
 * names of the configured checks), so the label sets stay small.
 * No work at import time; nothing here touches the network.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TransactionEntry } from '../store/message-log.js';

/** What a worker's registry holds, as getMetricsAsJSON() gives it (JSON-safe, for IPC). */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export interface QueueGaugeSource {
  readonly shard: number;
  readonly size: number;
  /** receivedAt of the oldest queued message, null when the shard is empty. */
  readonly oldestReceivedAt: number | null;
}

export interface MetricsSources {
  queues(): readonly QueueGaugeSource[];
  /** Messages in quarantine; only one worker need report it. */
  quarantineSize?(): Promise<number>;
  now(): number;
}

const SCAN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400];

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly messages: Counter<'action'>;
  private readonly refusals: Counter<'phase' | 'action'>;
  private readonly symbols: Counter<'check' | 'symbol'>;
  private readonly scan: Histogram;
  private readonly attempts: Counter<'outcome'>;
  private readonly delivery: Histogram;
  private readonly logDropped: Counter;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.messages = new Counter({ name: 'moat_messages_total', help: 'SMTP transactions by outcome (accept, tag, quarantine, reject, defer, abandoned)', labelNames: ['action'], registers });
    this.refusals = new Counter({ name: 'moat_refusals_total', help: 'Refusals we sent, by SMTP phase and kind (reject: 5xx, defer: 4xx); each refused recipient counts', labelNames: ['phase', 'action'], registers });
    this.symbols = new Counter({ name: 'moat_symbol_hits_total', help: 'Transactions whose findings include the symbol, by check and symbol', labelNames: ['check', 'symbol'], registers });
    this.scan = new Histogram({ name: 'moat_scan_duration_seconds', help: 'Time the end-of-data checks took per message', buckets: SCAN_BUCKETS, registers });
    this.attempts = new Counter({ name: 'moat_delivery_attempts_total', help: 'Delivery results per recipient and attempt (delivered, retry, failed)', labelNames: ['outcome'], registers });
    this.delivery = new Histogram({ name: 'moat_delivery_duration_seconds', help: 'Time from acceptance to the LAN server\'s 2xx, per recipient', buckets: DELIVERY_BUCKETS, registers });
    this.logDropped = new Counter({ name: 'moat_messagelog_dropped_total', help: 'Message log records lost (store failure or full buffer); the mail itself is not affected', registers });
    new Gauge({
      name: 'moat_queue_messages',
      help: 'Messages in the delivery queue, per spool shard',
      labelNames: ['shard'],
      registers,
      collect() {
        this.reset();
        for (const q of sources.queues()) this.set({ shard: String(q.shard) }, q.size);
      },
    });
    new Gauge({
      name: 'moat_queue_oldest_age_seconds',
      help: 'Age of the oldest queued message, per spool shard (0 when empty)',
      labelNames: ['shard'],
      registers,
      collect() {
        this.reset();
        const now = sources.now();
        for (const q of sources.queues()) this.set({ shard: String(q.shard) }, q.oldestReceivedAt === null ? 0 : Math.max(0, (now - q.oldestReceivedAt) / 1000));
      },
    });
    const quarantineSize = sources.quarantineSize?.bind(sources);
    if (quarantineSize) {
      new Gauge({
        name: 'moat_quarantine_messages',
        help: 'Messages in quarantine',
        registers,
        aggregator: 'max',
        async collect() {
          this.set(await quarantineSize().catch(() => 0));
        },
      });
    }
  }

  /** One transaction as the message log records it. */
  transaction(e: TransactionEntry): void {
    this.messages.inc({ action: e.action });
    for (const r of e.recipients) if (!r.accepted) this.refusals.inc({ phase: 'rcptTo', action: r.reply.code >= 500 ? 'reject' : 'defer' });
    // A transaction that ended at RCPT was refused recipient by recipient: counted above.
    if ((e.action === 'reject' || e.action === 'defer') && e.phase !== 'rcptTo') this.refusals.inc({ phase: e.phase, action: e.action });
    const seen = new Set<string>();
    for (const f of e.verdict.findings) {
      if (seen.has(f.symbol)) continue;
      seen.add(f.symbol);
      this.symbols.inc({ check: f.check, symbol: f.symbol });
    }
    if (e.scanMs !== null) this.scan.observe(e.scanMs / 1000);
  }

  /** One recipient's result of a delivery attempt; `ageMs` since acceptance. */
  deliveryResult(outcome: 'delivered' | 'retry' | 'failed', ageMs: number): void {
    this.attempts.inc({ outcome });
    if (outcome === 'delivered') this.delivery.observe(Math.max(0, ageMs) / 1000);
  }

  messageLogDropped(n: number): void {
    this.logDropped.inc(n);
  }

  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }
}

/**
 * The supervisor's own gauges: workers configured and ready, SMTP sessions open gateway-wide, and
 * `moat_node_info{node}` (always 1) naming this node, for joining on it when several nodes are scraped.
 */
export function supervisorMetrics(sources: { workers(): number; ready(): number; sessions(): number; scanners(): readonly { name: string; up: boolean | null }[]; node?: string }): Registry {
  const registry = new Registry();
  const registers = [registry];
  if (sources.node !== undefined) {
    new Gauge({ name: 'moat_node_info', help: 'This node (config `node`); always 1', labelNames: ['node'], registers }).set({ node: sources.node }, 1);
  }
  new Gauge({ name: 'moat_workers', help: 'Worker processes configured', registers, collect() { this.set(sources.workers()); } });
  new Gauge({ name: 'moat_workers_ready', help: 'Worker processes running and ready', registers, collect() { this.set(sources.ready()); } });
  new Gauge({ name: 'moat_sessions_open', help: 'SMTP sessions open, gateway-wide', registers, collect() { this.set(sources.sessions()); } });
  new Gauge({
    name: 'moat_scanner_up',
    help: 'Whether the last probe of an external scanner (clamd, spamd, rspamd) was answered: 1 up, 0 down (absent before the first probe)',
    labelNames: ['scanner'],
    registers,
    collect() {
      this.reset();
      for (const s of sources.scanners()) if (s.up !== null) this.set({ scanner: s.name }, s.up ? 1 : 0);
    },
  });
  return registry;
}

/** The Prometheus text of several registries' snapshots merged (each metric by its aggregator). */
export async function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): Promise<string> {
  return AggregatorRegistry.aggregate([...snapshots]).metrics();
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
