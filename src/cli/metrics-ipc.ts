/**
 * Metrics over the cluster IPC channel: on a scrape the supervisor asks every worker for its
 * registry's snapshot (getMetricsAsJSON) with our own typed message, beside the admission and
 * control messages, and merges them with prom-client's AggregatorRegistry.aggregate.
 * We do not use AggregatorRegistry.clusterMetrics(): it needs an AggregatorRegistry constructed in
 * every worker to install its listener, and one worker that is starting or stuck fails the whole
 * scrape after 5 s. Here a worker that does not answer within the bound is represented by its last
 * snapshot (a worker that exited is forgotten), so a scrape always answers.
 * Trusts the workers (our own processes).
 */
import { mergeSnapshots, type MetricsSnapshot } from '../admin/metrics.js';

export interface MetricsRequest {
  readonly type: 'metrics';
  readonly seq: number;
}

export interface MetricsAnswer {
  readonly type: 'metrics';
  readonly seq: number;
  readonly snapshot: MetricsSnapshot;
}

export function isMetricsAnswer(m: unknown): m is MetricsAnswer {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as { type?: unknown; seq?: unknown; snapshot?: unknown };
  return o.type === 'metrics' && typeof o.seq === 'number' && Array.isArray(o.snapshot);
}

export function isMetricsRequest(m: unknown): m is MetricsRequest {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as { type?: unknown; seq?: unknown };
  return o.type === 'metrics' && typeof o.seq === 'number' && !('snapshot' in o);
}

export interface MetricsPeer {
  /** Stable across restarts of the worker (its index). */
  readonly key: number;
  send(m: MetricsRequest): void;
}

export class MetricsCollector {
  private seq = 0;
  private readonly waiting = new Map<number, (s: MetricsSnapshot) => void>();
  private readonly last = new Map<number, MetricsSnapshot>();

  constructor(private readonly timeoutMs = 2000) {}

  /** An answer from a worker. */
  answer(m: MetricsAnswer): void {
    this.waiting.get(m.seq)?.(m.snapshot);
  }

  /** A worker exited: its counters are gone with it. */
  forget(key: number): void {
    this.last.delete(key);
  }

  /** The Prometheus text of every worker's registry merged, plus the supervisor's own snapshots. */
  async collect(peers: readonly MetricsPeer[], own: readonly MetricsSnapshot[]): Promise<string> {
    const snapshots = await Promise.all(peers.map((p) => this.ask(p)));
    return mergeSnapshots([...snapshots.filter((s): s is MetricsSnapshot => s !== null), ...own]);
  }

  private ask(peer: MetricsPeer): Promise<MetricsSnapshot | null> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(this.last.get(peer.key) ?? null);
      }, this.timeoutMs);
      this.waiting.set(seq, (s) => {
        clearTimeout(timer);
        this.waiting.delete(seq);
        this.last.set(peer.key, s);
        resolve(s);
      });
      try {
        peer.send({ type: 'metrics', seq });
      } catch {
        // The channel closed under us: the timer answers with what we had.
      }
    });
  }
}
