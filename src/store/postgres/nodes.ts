/**
 * The node list in PostgreSQL (src/store/nodes.ts): one row per node, replaced by each heartbeat
 * (an upsert of one row: a few hundred bytes every few seconds per node), with the beat's time
 * taken from the server's now() and ages computed by the server too — one clock for the whole
 * cluster. Why PostgreSQL and not the Redis state store: the list is console state like the message
 * log and the users it sits beside (DESIGN.md §6), a cluster may run PostgreSQL without Redis, and a
 * stopped node must stay listed (as stale) rather than vanish with a TTL. Rows of nodes silent for
 * longer than `forgetAfter` are deleted when the list is read.
 * Trusts its callers' values (bound parameters). Fails with NodeRegistryError, without the password.
 */
import type pg from 'pg';
import { NodeRegistryError, type NodeHeartbeat, type NodeRegistry, type NodeStatus } from '../nodes.js';
import { migrate, type Migrations } from './migrate.js';
import { createPool, describeUrl } from './pool.js';

export const NODES_MIGRATIONS: Migrations = {
  component: 'nodes',
  steps: [
    `CREATE TABLE cluster_nodes (
       node TEXT PRIMARY KEY,
       beat_at TIMESTAMPTZ NOT NULL,
       started_at BIGINT NOT NULL,
       pid INTEGER NOT NULL,
       workers INTEGER NOT NULL,
       ready INTEGER NOT NULL,
       queue_size INTEGER NOT NULL,
       queue_oldest BIGINT,
       queue_error TEXT,
       stopped BOOLEAN NOT NULL
     );`,
  ],
};

interface Row {
  node: string;
  beat_ms: string;
  age_ms: string;
  started_at: string;
  pid: number;
  workers: number;
  ready: number;
  queue_size: number;
  queue_oldest: string | null;
  queue_error: string | null;
  stopped: boolean;
}

export class PostgresNodeRegistry implements NodeRegistry {
  private readonly pool: pg.Pool;
  private readonly where: string;
  private migrated: Promise<void> | null = null;

  constructor(o: { readonly url: string; readonly statementTimeoutMs: number }) {
    // Two connections: a heartbeat and a console read at the same time.
    this.pool = createPool(o.url, 2, o.statementTimeoutMs);
    this.where = describeUrl(o.url);
  }

  private error(e: unknown): NodeRegistryError {
    return e instanceof NodeRegistryError ? e : new NodeRegistryError(`node list in ${this.where}: ${e instanceof Error ? e.message : String(e)}`);
  }

  init(): Promise<void> {
    this.migrated ??= migrate(this.pool, NODES_MIGRATIONS).then(
      () => undefined,
      (e: unknown) => {
        this.migrated = null;
        throw this.error(e);
      },
    );
    return this.migrated;
  }

  private async q<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.init();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw this.error(e);
    }
  }

  async beat(h: NodeHeartbeat): Promise<void> {
    await this.q(
      `INSERT INTO cluster_nodes (node, beat_at, started_at, pid, workers, ready, queue_size, queue_oldest, queue_error, stopped)
       VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (node) DO UPDATE SET beat_at = now(), started_at = excluded.started_at, pid = excluded.pid, workers = excluded.workers,
         ready = excluded.ready, queue_size = excluded.queue_size, queue_oldest = excluded.queue_oldest, queue_error = excluded.queue_error, stopped = excluded.stopped`,
      [h.node, h.startedAt, h.pid, h.workers, h.ready, h.queueSize, h.queueOldest, h.queueError, h.stopped],
    );
  }

  async list(forgetAfterMs: number): Promise<NodeStatus[]> {
    await this.q("DELETE FROM cluster_nodes WHERE beat_at < now() - $1 * interval '1 millisecond'", [forgetAfterMs]);
    const r = await this.q<Row>(
      `SELECT node, (extract(epoch FROM beat_at) * 1000)::bigint AS beat_ms, GREATEST(0, (extract(epoch FROM now() - beat_at) * 1000)::bigint) AS age_ms,
         started_at, pid, workers, ready, queue_size, queue_oldest, queue_error, stopped
       FROM cluster_nodes ORDER BY node LIMIT 1000`,
      [],
    );
    return r.rows.map((x) => ({
      node: x.node,
      beatAt: Number(x.beat_ms),
      ageMs: Number(x.age_ms),
      startedAt: Number(x.started_at),
      pid: x.pid,
      workers: x.workers,
      ready: x.ready,
      queueSize: x.queue_size,
      queueOldest: x.queue_oldest === null ? null : Number(x.queue_oldest),
      queueError: x.queue_error,
      stopped: x.stopped,
    }));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
