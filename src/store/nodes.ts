/**
 * The cluster's node list (issue 7: "the admin console of any node shows the whole cluster"): each
 * node's supervisor publishes a heartbeat every `cluster.heartbeat` (src/cli/heartbeat.ts) — its
 * workers, its own spool's size and oldest message — and every console reads the list. The age of
 * a heartbeat is measured by the store's own clock (written and read there), so nodes whose clocks
 * disagree never see each other as stale. Kept in PostgreSQL beside the message log
 * (src/store/postgres/nodes.ts); one machine has no list (the dashboard shows its own workers).
 * Trusts the nodes' reports (they are ours). A failing store rejects with NodeRegistryError.
 */

export interface NodeHeartbeat {
  readonly node: string;
  /** The supervisor's start, ms since the epoch (its own clock). */
  readonly startedAt: number;
  readonly pid: number;
  readonly workers: number;
  readonly ready: number;
  /** Messages in this node's spool, and the arrival of its oldest one (null when empty). */
  readonly queueSize: number;
  readonly queueOldest: number | null;
  /** null when the workers did not answer the queue question. */
  readonly queueError: string | null;
  /** The last beat of a node shutting down on purpose. */
  readonly stopped: boolean;
}

export interface NodeStatus extends NodeHeartbeat {
  /** ms since its last heartbeat, by the store's clock. */
  readonly ageMs: number;
  /** The heartbeat's time, by the store's clock (ms since the epoch). */
  readonly beatAt: number;
}

export interface NodeRegistry {
  /** Writes (replaces) this node's row. */
  beat(h: NodeHeartbeat): Promise<void>;
  /** Every node seen within `forgetAfterMs`, by name; older rows are deleted. */
  list(forgetAfterMs: number): Promise<NodeStatus[]>;
  close(): Promise<void>;
}

export class NodeRegistryError extends Error {
  readonly code = 'NODE_REGISTRY_ERROR';
  readonly transient = true;
}
