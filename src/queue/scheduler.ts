/**
 * Delivery scheduling for one spool shard. Each message has a due time; due messages are attempted
 * with bounded concurrency, their recipients grouped by destination domain and handed to the
 * Deliverer port. Outcomes update the per-recipient state (state.ts); failures are turned into DSNs by
 * the Notifier port *before* the state that records them is written, so a crash can repeat a DSN but
 * never lose one. A message leaves the spool only when every recipient is delivered, failed or expired.
 */
import type { Clock } from '../platform/clock.js';
import type { Envelope } from './record.js';
import type { Spool, StoredMessage } from './spool.js';
import { applyAttempt, initialState, type DeliveryState, type RecipientOutcome, type Schedule } from './state.js';
import { TimerHeap } from './timer-heap.js';

export interface Deliverer {
  /** Attempts the given recipients (indices into the envelope), all of one domain. */
  deliver(message: StoredMessage, recipients: readonly number[], signal: AbortSignal): Promise<RecipientOutcome[]>;
}

export interface Notifier {
  /** Makes and spools a DSN for these recipients; resolves once it is durable. */
  notify(message: StoredMessage, state: DeliveryState, recipients: readonly number[], kind: 'failed' | 'delayed' | 'relayed'): Promise<void>;
}

export interface SchedulerEvents {
  attempted(envelope: Envelope, outcomes: readonly RecipientOutcome[], state: DeliveryState): void;
  removed(envelope: Envelope, why: 'done' | 'deleted'): void;
  error(envelope: Envelope, error: unknown): void;
}

export interface SchedulerDeps {
  readonly spool: Spool;
  readonly deliverer: Deliverer;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly schedule: () => Schedule;
  readonly events: SchedulerEvents;
  /** Messages attempted at once by this shard. */
  readonly maxActive: number;
}

interface Entry {
  message: StoredMessage;
  state: DeliveryState;
  active: boolean;
}

export interface QueueEntryView {
  readonly envelope: Envelope;
  readonly state: DeliveryState;
  readonly active: boolean;
  readonly size: number;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly due = new TimerHeap();
  private readonly ready: string[] = [];
  private active = 0;
  private timer: { cancel(): void } | null = null;
  private timerAt = Infinity;
  private stopping = false;
  private readonly stopped = new AbortController();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: SchedulerDeps) {}

  get size(): number {
    return this.entries.size;
  }

  /** A message newly accepted or loaded at startup; `state` null means all recipients pending now. */
  add(message: StoredMessage, state: DeliveryState | null): void {
    const s = state ?? initialState(message.envelope.recipients.length, this.deps.clock.now());
    this.entries.set(message.envelope.id, { message, state: s, active: false });
    this.plan(message.envelope.id, s.nextAttemptAt);
  }

  /** Queue size and the arrival of the oldest message, cheaply (for the metrics). */
  stats(): { size: number; oldestReceivedAt: number | null } {
    let oldest: number | null = null;
    for (const e of this.entries.values()) if (oldest === null || e.message.envelope.receivedAt < oldest) oldest = e.message.envelope.receivedAt;
    return { size: this.entries.size, oldestReceivedAt: oldest };
  }

  list(): QueueEntryView[] {
    return [...this.entries.values()].map((e) => ({ envelope: e.message.envelope, state: e.state, active: e.active, size: e.message.contentLength }));
  }

  get(id: string): QueueEntryView | null {
    const e = this.entries.get(id);
    return e ? { envelope: e.message.envelope, state: e.state, active: e.active, size: e.message.contentLength } : null;
  }

  /** Makes every waiting message due now. */
  flush(): number {
    let n = 0;
    for (const [id, e] of this.entries) if (!e.active) {
      this.plan(id, this.deps.clock.now());
      n++;
    }
    return n;
  }

  retry(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    if (!e.active) this.plan(id, this.deps.clock.now());
    return true;
  }

  /** Deletes a queued message without notice (operator action). Refused while it is being delivered. */
  async delete(id: string): Promise<'deleted' | 'active' | 'unknown'> {
    const e = this.entries.get(id);
    if (!e) return 'unknown';
    if (e.active) return 'active';
    this.entries.delete(id);
    this.due.delete(id);
    await this.deps.spool.remove(id);
    this.deps.events.removed(e.message.envelope, 'deleted');
    return 'deleted';
  }

  /**
   * Returns a queued message to its sender (operator action): every pending recipient fails with
   * 5.0.0, the sender gets the usual DSN (never for a null sender, as always), then the message
   * leaves the queue. Refused while it is being delivered.
   */
  async bounce(id: string, reason: string): Promise<'bounced' | 'active' | 'unknown'> {
    const e = this.entries.get(id);
    if (!e) return 'unknown';
    if (e.active) return 'active';
    const env = e.message.envelope;
    const now = this.deps.clock.now();
    const outcomes: RecipientOutcome[] = e.state.recipients.flatMap((r, index) => (r.status === 'pending' ? [{ index, kind: 'failed' as const, reply: reason, dsnStatus: '5.0.0', remoteMta: null }] : []));
    // Held like an attempt, so that no delivery starts while the DSN is written.
    e.active = true;
    try {
      const result = applyAttempt(e.state, outcomes, env.receivedAt, now, this.deps.schedule());
      if (result.newlyFailed.length > 0) await this.deps.notifier.notify(e.message, result.state, result.newlyFailed, 'failed');
      this.entries.delete(id);
      this.due.delete(id);
      await this.deps.spool.remove(id);
      this.deps.events.attempted(env, outcomes, result.state);
      this.deps.events.removed(env, 'done');
      return 'bounced';
    } finally {
      e.active = false;
    }
  }

  /** Stops starting attempts and waits for the active ones (bounded by the caller). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts attempts in flight (their messages stay queued and are retried later). */
  abortActive(): void {
    this.stopped.abort();
  }

  private plan(id: string, at: number): void {
    this.due.set(id, at);
    this.arm();
  }

  private arm(): void {
    if (this.stopping) return;
    const next = this.due.peek();
    if (next === null) return;
    const now = this.deps.clock.now();
    if (next <= now) {
      queueMicrotask(() => this.pump());
      return;
    }
    if (this.timer && this.timerAt <= next) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.deps.clock.setTimer(next - now, () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopping) return;
    for (const id of this.due.takeDue(this.deps.clock.now())) this.ready.push(id);
    while (this.active < this.deps.maxActive && this.ready.length > 0) {
      const id = this.ready.shift() as string;
      const e = this.entries.get(id);
      if (!e || e.active) continue;
      e.active = true;
      this.active++;
      void this.attempt(e).then((nextAt) => {
        e.active = false;
        this.active--;
        // Planned only now that the entry is idle: a due-at-once retry must not find it active.
        if (nextAt !== null && this.entries.has(id)) this.plan(id, nextAt);
        if (this.stopping && this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
        else this.pump();
      });
    }
    this.arm();
  }

  /** One delivery attempt; resolves with when to try again (null: the message is gone). */
  private async attempt(e: Entry): Promise<number | null> {
    const { message } = e;
    const env = message.envelope;
    try {
      const byDomain = new Map<string, number[]>();
      e.state.recipients.forEach((r, i) => {
        if (r.status !== 'pending') return;
        const d = env.recipients[i]?.domain ?? '';
        byDomain.set(d, [...(byDomain.get(d) ?? []), i]);
      });
      const signal = this.stopped.signal;
      const outcomes = (await Promise.all([...byDomain.values()].map((idx) => this.deps.deliverer.deliver(message, idx, signal)))).flat();
      const now = this.deps.clock.now();
      const result = applyAttempt(e.state, outcomes, env.receivedAt, now, this.deps.schedule());
      // DSNs first: only once they are durable may the state forget why.
      if (result.newlyFailed.length > 0) await this.deps.notifier.notify(message, result.state, result.newlyFailed, 'failed');
      if (result.delayed.length > 0) await this.deps.notifier.notify(message, result.state, result.delayed, 'delayed');
      const relayed = outcomes.filter((o) => o.kind === 'delivered' && o.relayedWithoutDsn).map((o) => o.index);
      if (relayed.length > 0) await this.deps.notifier.notify(message, result.state, relayed, 'relayed');
      e.state = result.state;
      this.deps.events.attempted(env, outcomes, result.state);
      if (result.done) {
        this.entries.delete(env.id);
        await this.deps.spool.remove(env.id);
        this.deps.events.removed(env, 'done');
        return null;
      }
      await this.deps.spool.writeState(env.id, result.state);
      return result.state.nextAttemptAt;
    } catch (err) {
      // Nothing recorded: try again after the first retry delay, the message stays safe on disk.
      this.deps.events.error(env, err);
      return this.deps.clock.now() + (this.deps.schedule().retrySchedule[0] ?? 60_000);
    }
  }
}
