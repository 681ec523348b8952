/**
 * The supervisor's heartbeat into the cluster's node list (src/store/nodes.ts): every
 * `cluster.heartbeat` it asks its workers for their spool shards (the same queue-stats request the
 * dashboard makes) and writes one row — workers ready, queue size, oldest message. One beat at a
 * time (a slow store never piles them up); a failing store is logged once per failure streak
 * (`cluster.heartbeat-failed`, then `cluster.heartbeat-ok` when it works again) and never stops
 * the gateway. stop() writes a last beat marked stopped, bounded in time.
 */
import type { ControlAnswer, ControlRequest } from '../gateway/control.js';
import type { Logger } from '../platform/logger.js';
import type { NodeHeartbeat, NodeRegistry } from '../store/nodes.js';

export interface HeartbeatOptions {
  readonly registry: NodeRegistry;
  readonly node: string;
  readonly intervalMs: () => number;
  readonly ask: (req: ControlRequest) => Promise<ControlAnswer>;
  readonly workers: () => { readonly workers: number; readonly ready: number };
  readonly logger: Logger;
  readonly now: () => number;
}

export interface Heartbeat {
  /** Writes one beat now (the next one follows an interval later). */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

export function startHeartbeat(o: HeartbeatOptions): Heartbeat {
  const startedAt = o.now();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let failing = false;
  let stopped = false;

  const report = async (last: boolean): Promise<NodeHeartbeat> => {
    const w = o.workers();
    // A worker still starting would not answer (and hold the beat for the IPC timeout).
    const asking = !last && w.ready === w.workers;
    const stats = asking ? await o.ask({ op: 'queue-stats' }) : null;
    const shards = stats?.ok ? (stats.shards ?? []) : [];
    const oldest = shards.map((s) => s.oldestReceivedAt).filter((t): t is number => t !== null);
    return {
      node: o.node,
      startedAt,
      pid: process.pid,
      workers: w.workers,
      ready: last ? 0 : w.ready,
      queueSize: shards.reduce((n, s) => n + s.size, 0),
      queueOldest: oldest.length > 0 ? Math.min(...oldest) : null,
      queueError: last ? null : stats === null ? 'workers not ready' : stats.ok ? null : stats.error,
      stopped: last,
    };
  };

  const once = async (last: boolean): Promise<void> => {
    try {
      await o.registry.beat(await report(last));
      if (failing) o.logger.info('cluster.heartbeat-ok', { node: o.node });
      failing = false;
    } catch (e) {
      if (!failing) o.logger.warn('cluster.heartbeat-failed', { node: o.node, error: e instanceof Error ? e.message : String(e) });
      failing = true;
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void beat().finally(schedule), o.intervalMs());
    timer.unref();
  };

  const beat = (): Promise<void> => {
    running ??= once(false).finally(() => (running = null));
    return running;
  };

  void beat().finally(schedule);
  return {
    beat,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([once(true), new Promise((r) => (bound = setTimeout(r, 3000)))]);
      clearTimeout(bound);
    },
  };
}
