/**
 * Message tracking for one worker: the TransactionJournal the inbound sessions report to, and the
 * hooks for the scheduler's delivery events and the quarantine's release/delete. Each report goes
 * to the metrics and, when the message log is on, into its buffer (message-log-buffer.ts), so the
 * SMTP path and the scheduler only push onto an array. The worker that prunes (one per node)
 * deletes entries past the retention hourly, in batches that yield to the event loop between them.
 * Fails quietly toward the mail: a store that fails is counted (`moat_messagelog_dropped_total`)
 * and logged (`messagelog.error`), never thrown at a session or the scheduler.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Envelope } from '../queue/record.js';
import type { DeliveryState, RecipientOutcome } from '../queue/state.js';
import { DEFAULT_BUFFER, MessageLogBuffer } from '../store/message-log-buffer.js';
import { finalState, type DeliveryAttemptEvent, type LogRecord, type MessageLogStore, type MessageState, type TransactionEntry } from '../store/message-log.js';
import type { TransactionJournal } from './journal.js';

export interface TrackingMetrics {
  transaction(e: TransactionEntry): void;
  deliveryResult(outcome: RecipientOutcome['kind'], ageMs: number): void;
  messageLogDropped(n: number): void;
}

export interface TrackingDeps {
  /** null: the message log is off (metrics only). */
  readonly store: MessageLogStore | null;
  readonly metrics: TrackingMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly retention: () => number;
  /** This worker prunes the log (one per node). */
  readonly prunes: boolean;
}

const PRUNE_BATCH = 500; // a few ms of write lock per batch: the other worker's flush never waits long
const PRUNE_MAX_BATCHES = 2000;
const HOUR = 3_600_000;

/** One attempt event per group of recipients that got the same result from the same server. */
export function attemptEvents(env: Envelope, outcomes: readonly RecipientOutcome[], now: number): DeliveryAttemptEvent[] {
  const groups = new Map<string, { recipients: string[]; o: RecipientOutcome }>();
  for (const o of outcomes) {
    const key = `${o.kind}\u0000${o.remoteMta ?? ''}\u0000${o.reply}`;
    const g = groups.get(key) ?? { recipients: [], o };
    g.recipients.push(env.recipients[o.index]?.address ?? `#${o.index}`);
    groups.set(key, g);
  }
  return [...groups.values()].map(({ recipients, o }) => ({ kind: 'attempt', queueId: env.id, time: now, recipients, relay: o.remoteMta, reply: o.reply, outcome: o.kind }));
}

export class Tracking implements TransactionJournal {
  private readonly buffer: MessageLogBuffer | null;
  private readonly pruner: NodeJS.Timeout | null = null;
  private pruning: Promise<void> | null = null;

  constructor(private readonly deps: TrackingDeps) {
    this.buffer = deps.store
      ? new MessageLogBuffer(deps.store, {
          ...DEFAULT_BUFFER,
          onError: (e, dropped) => {
            deps.metrics.messageLogDropped(dropped);
            deps.logger.error('messagelog.error', { dropped, error: e instanceof Error ? e.message : String(e) });
          },
        })
      : null;
    if (deps.store && deps.prunes) {
      this.pruner = setInterval(() => this.prune(), HOUR).unref();
      this.prune();
    }
  }

  private track(r: LogRecord): void {
    this.buffer?.add(r);
  }

  transaction(entry: TransactionEntry): void {
    this.deps.metrics.transaction(entry);
    this.track({ kind: 'transaction', entry });
  }

  /** The scheduler's `attempted` event. */
  attempted(env: Envelope, outcomes: readonly RecipientOutcome[], state: DeliveryState): void {
    const now = this.deps.clock.now();
    for (const o of outcomes) this.deps.metrics.deliveryResult(o.kind, now - env.receivedAt);
    for (const e of attemptEvents(env, outcomes, now)) this.track(e);
    const final = finalState(state.recipients.map((r) => r.status));
    if (final) this.state(env.id, final);
  }

  /** A message left the queue without delivery (operator), or the quarantine (deleted, released). */
  state(queueId: string, state: MessageState): void {
    this.track({ kind: 'state', queueId, time: this.deps.clock.now(), state });
  }

  /** Deletes what is older than the retention, one batch at a time. */
  prune(): void {
    const store = this.deps.store;
    if (!store || this.pruning) return;
    const before = this.deps.clock.now() - this.deps.retention();
    this.pruning = (async () => {
      let rows = 0;
      for (let i = 0; i < PRUNE_MAX_BATCHES; i++) {
        const n = await store.prune(before, PRUNE_BATCH);
        rows += n;
        if (n === 0) break;
        await new Promise((r) => setImmediate(r));
      }
      if (rows > 0) this.deps.logger.info('messagelog.pruned', { rows, before: new Date(before).toISOString() });
    })()
      .catch((e: unknown) => this.deps.logger.error('messagelog.error', { during: 'prune', error: e instanceof Error ? e.message : String(e) }))
      .finally(() => (this.pruning = null));
  }

  /** Writes what is buffered and closes the store. */
  async close(): Promise<void> {
    if (this.pruner) clearInterval(this.pruner);
    await this.pruning;
    await this.buffer?.close().catch((e: unknown) => this.deps.logger.error('messagelog.error', { during: 'close', error: e instanceof Error ? e.message : String(e) }));
  }
}
