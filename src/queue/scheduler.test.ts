import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../platform/clock.js';
import type { Envelope } from './record.js';
import { Scheduler, type Deliverer, type Notifier, type SchedulerEvents } from './scheduler.js';
import { Spool, type StoredMessage } from './spool.js';
import type { DeliveryState, RecipientOutcome, Schedule } from './state.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000;

/** A manual clock: time moves only when the test says so; due timers fire in time order. */
class FakeClock implements Clock {
  private t: number;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  constructor(start: number) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const timer = { at: this.t + Math.max(0, ms), fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  get armed(): number[] {
    return this.timers.filter((x) => x.live).map((x) => x.at);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
  }
}

/** Waits (without a fixed sleep) until `cond` holds; fails after two seconds of real time. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Lets queued microtasks and I/O callbacks run, to show that something did NOT happen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

type Kind = RecipientOutcome['kind'];
const outcome = (index: number, kind: Kind): RecipientOutcome => ({
  index,
  kind,
  reply: kind === 'delivered' ? '250 2.0.0 Ok' : kind === 'retry' ? '451 4.3.0 Try later' : '550 5.1.1 No such user',
  dsnStatus: kind === 'delivered' ? '2.0.0' : kind === 'retry' ? '4.3.0' : '5.1.1',
  remoteMta: 'lan.example',
});

/** Everything the ports saw, in order, for checking the order of side effects. */
type LogEntry = string;

class SpySpool extends Spool {
  constructor(root: string, private readonly log: LogEntry[]) {
    super(root, 0);
  }
  override async writeState(id: string, state: DeliveryState): Promise<void> {
    this.log.push(`writeState ${id}`);
    await super.writeState(id, state);
    this.written.push(id);
  }
  /** Ids whose state write completed, in order (the scheduler plans the next attempt right after). */
  readonly written: string[] = [];
  wrote(id: string): number {
    return this.written.filter((x) => x === id).length;
  }
  override async remove(id: string): Promise<void> {
    this.log.push(`remove ${id}`);
    await super.remove(id);
  }
}

class FakeDeliverer implements Deliverer {
  calls: { id: string; recipients: number[]; signal: AbortSignal }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Decides each call's outcome; may return a promise the test controls. */
  plan: (id: string, recipients: readonly number[], call: number) => Promise<RecipientOutcome[]> | RecipientOutcome[] = (_id, r) =>
    r.map((i) => outcome(i, 'delivered'));
  constructor(private readonly log: LogEntry[]) {}
  async deliver(message: StoredMessage, recipients: readonly number[], signal: AbortSignal): Promise<RecipientOutcome[]> {
    const id = message.envelope.id;
    this.calls.push({ id, recipients: [...recipients], signal });
    this.log.push(`deliver ${id} [${recipients.join(',')}]`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.plan(id, recipients, this.calls.length);
    } finally {
      this.inFlight--;
    }
  }
  callsFor(id: string): number {
    return this.calls.filter((c) => c.id === id).length;
  }
}

class FakeNotifier implements Notifier {
  calls: { id: string; kind: 'failed' | 'delayed'; recipients: number[]; statuses: string[] }[] = [];
  constructor(private readonly log: LogEntry[]) {}
  async notify(message: StoredMessage, state: DeliveryState, recipients: readonly number[], kind: 'failed' | 'delayed'): Promise<void> {
    // Yield first: a notifier that is slow to make its DSN durable must still come before writeState.
    await new Promise<void>((r) => setImmediate(r));
    this.log.push(`notify ${kind} ${message.envelope.id} [${recipients.join(',')}]`);
    this.calls.push({ id: message.envelope.id, kind, recipients: [...recipients], statuses: state.recipients.map((r) => r.status) });
  }
}

const schedule: Schedule = { retrySchedule: [1 * MIN, 5 * MIN], lifetime: 60 * MIN, delayWarning: 0 };

let root: string;
let log: LogEntry[];
let spool: SpySpool;
let clock: FakeClock;
let deliverer: FakeDeliverer;
let notifier: FakeNotifier;
let removed: { id: string; why: string }[];
let errors: { id: string; error: unknown }[];
let attempted: string[];
let schedulers: Scheduler[];

function makeScheduler(maxActive = 4, s: Schedule = schedule): Scheduler {
  const events: SchedulerEvents = {
    attempted: (env) => void attempted.push(env.id),
    removed: (env, why) => void removed.push({ id: env.id, why }),
    error: (env, error) => void errors.push({ id: env.id, error }),
  };
  const sched = new Scheduler({ spool, deliverer, notifier, clock, schedule: () => s, events, maxActive });
  schedulers.push(sched);
  return sched;
}

function envelope(id: string, recipients: string[]): Envelope {
  return {
    v: 2,
    id,
    receivedAt: clock.now(),
    from: 'alice@sender.example',
    smtputf8: false,
    body: null,
    ret: null,
    envid: null,
    client: { ip: '192.0.2.1', helo: 'client.example', tls: false },
    recipients: recipients.map((address) => ({ address, domain: address.split('@')[1] ?? '', notify: null, orcpt: null })),
    prepend: '',
    edits: [],
  };
}

async function store(id: string, recipients = ['bob@example.test']): Promise<StoredMessage> {
  const w = spool.createWriter(id);
  await w.write([Buffer.from('Subject: test\r\n\r\nhello\r\n')]);
  return w.finish(envelope(id, recipients), false);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'moat-sched-'));
  log = [];
  spool = new SpySpool(root, log);
  await spool.init();
  clock = new FakeClock(T0);
  deliverer = new FakeDeliverer(log);
  notifier = new FakeNotifier(log);
  removed = [];
  errors = [];
  attempted = [];
  schedulers = [];
});

afterEach(async () => {
  // Let attempts in flight finish their file operations before the directory goes.
  await Promise.all(schedulers.map((x) => x.stop()));
  await rm(root, { recursive: true, force: true });
});

describe('Scheduler', () => {
  it('delivers a new message at once, one call per domain, and removes it from the spool', async () => {
    const sched = makeScheduler();
    const m = await store('M1', ['a@one.example', 'b@two.example', 'c@one.example']);
    sched.add(m, null);
    await until(() => removed.length === 1, 'removal');
    expect(removed).toEqual([{ id: 'M1', why: 'done' }]);
    expect(deliverer.calls.map((c) => c.recipients).sort()).toEqual([[0, 2], [1]]);
    expect(existsSync(spool.messagePath('M1'))).toBe(false);
    expect(sched.size).toBe(0);
    expect(log).not.toContain('writeState M1');
    expect(notifier.calls).toEqual([]);
  });

  it('reschedules a 4xx per the retry schedule and retries when the clock reaches it', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r, call) => r.map((i) => outcome(i, call < 3 ? 'retry' : 'delivered'));
    sched.add(await store('M2'), null);

    await until(() => spool.wrote('M2') === 1, 'first state write');
    expect(await spool.readState('M2')).toMatchObject({ attempts: 1, nextAttemptAt: T0 + 1 * MIN });
    expect(sched.get('M2')?.state.recipients[0]?.status).toBe('pending');

    clock.advance(1 * MIN - 1);
    await settle();
    expect(deliverer.calls).toHaveLength(1);
    clock.advance(1);
    await until(() => deliverer.calls.length === 2, 'second attempt');
    await until(() => spool.wrote('M2') === 2, 'second state write');
    expect(await spool.readState('M2')).toMatchObject({ attempts: 2, nextAttemptAt: T0 + 6 * MIN });

    clock.advance(5 * MIN - 1);
    await settle();
    expect(deliverer.calls).toHaveLength(2);
    clock.advance(1);
    await until(() => removed.length === 1, 'delivery on the third attempt');
    expect(deliverer.calls).toHaveLength(3);
    expect(existsSync(spool.messagePath('M2'))).toBe(false);
    expect(existsSync(spool.statePath('M2'))).toBe(false);
  });

  it('sends the failure DSN before it writes the state that records the failure', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, i === 0 ? 'failed' : 'retry'));
    sched.add(await store('M3', ['gone@example.test', 'later@example.test']), null);
    await until(() => spool.wrote('M3') === 1, 'state write');
    expect(log).toEqual(['deliver M3 [0,1]', 'notify failed M3 [0]', 'writeState M3']);
    expect(notifier.calls).toEqual([{ id: 'M3', kind: 'failed', recipients: [0], statuses: ['failed', 'pending'] }]);
    expect(removed).toEqual([]);
    expect(existsSync(spool.messagePath('M3'))).toBe(true);

    // The second recipient fails too: DSN for it alone, then the message leaves the spool.
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, 'failed'));
    clock.advance(1 * MIN);
    await until(() => removed.length === 1, 'removal');
    expect(deliverer.calls[1]?.recipients).toEqual([1]);
    expect(log.slice(3)).toEqual(['deliver M3 [1]', 'notify failed M3 [1]', 'remove M3']);
    expect(existsSync(spool.messagePath('M3'))).toBe(false);
  });

  it('removes a message when some recipients were delivered and the rest failed', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, i === 1 ? 'failed' : 'delivered'));
    sched.add(await store('M4', ['a@example.test', 'b@example.test', 'c@other.example']), null);
    await until(() => removed.length === 1, 'removal');
    expect(notifier.calls.map((c) => [c.kind, c.recipients])).toEqual([['failed', [1]]]);
    expect(log.indexOf('notify failed M4 [1]')).toBeLessThan(log.indexOf('remove M4'));
  });

  it('sends the delay notice before writing the state, once', async () => {
    const sched = makeScheduler(4, { retrySchedule: [1 * MIN], lifetime: 60 * MIN, delayWarning: 2 * MIN });
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, 'retry'));
    sched.add(await store('M5'), null);
    await until(() => spool.wrote('M5') === 1);
    for (let i = 2; i <= 4; i++) {
      clock.advance(1 * MIN);
      await until(() => spool.wrote('M5') === i, `write ${i}`);
    }
    expect(notifier.calls.map((c) => c.kind)).toEqual(['delayed']);
    const n = log.indexOf('notify delayed M5 [0]');
    expect(log[n + 1]).toBe('writeState M5');
  });

  it('never runs more than maxActive attempts at once', async () => {
    const sched = makeScheduler(2);
    const gates: Deferred<undefined>[] = [];
    deliverer.plan = async (_id, r) => {
      const g = deferred<undefined>();
      gates.push(g);
      await g.promise;
      return r.map((i) => outcome(i, 'delivered'));
    };
    for (let i = 0; i < 6; i++) sched.add(await store(`C${i}`), null);
    await until(() => deliverer.inFlight === 2, 'two in flight');
    await settle();
    expect(deliverer.calls).toHaveLength(2);
    expect(sched.list().filter((e) => e.active)).toHaveLength(2);
    for (let released = 0; released < 6; released++) {
      await until(() => gates.length > released, `attempt ${released + 1} started`);
      gates[released]?.resolve(undefined);
    }
    await until(() => removed.length === 6, 'all delivered');
    expect(deliverer.maxInFlight).toBe(2);
    expect(sched.size).toBe(0);
  });

  it('flush() and retry() make waiting messages due now', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, 'retry'));
    sched.add(await store('F1'), null);
    sched.add(await store('F2'), null);
    await until(() => spool.wrote('F1') === 1 && spool.wrote('F2') === 1, 'first attempts');

    expect(sched.retry('F1')).toBe(true);
    await until(() => deliverer.callsFor('F1') === 2, 'retry of F1');
    await settle();
    expect(deliverer.callsFor('F2')).toBe(1);
    expect(sched.retry('NOPE')).toBe(false);

    await until(() => !sched.get('F1')?.active);
    expect(sched.flush()).toBe(2);
    await until(() => deliverer.callsFor('F1') === 3 && deliverer.callsFor('F2') === 2, 'flush');
    expect(clock.now()).toBe(T0); // no time passed
  });

  it('delete() refuses a message being delivered and removes it otherwise', async () => {
    const sched = makeScheduler();
    const gate = deferred<undefined>();
    deliverer.plan = async (_id, r) => {
      await gate.promise;
      return r.map((i) => outcome(i, 'retry'));
    };
    sched.add(await store('D1'), null);
    await until(() => deliverer.inFlight === 1);
    expect(await sched.delete('D1')).toBe('active');
    expect(existsSync(spool.messagePath('D1'))).toBe(true);
    gate.resolve(undefined);
    await until(() => spool.wrote('D1') === 1 && sched.get('D1')?.active === false);

    expect(await sched.delete('D1')).toBe('deleted');
    expect(await sched.delete('D1')).toBe('unknown');
    expect(removed).toEqual([{ id: 'D1', why: 'deleted' }]);
    expect(existsSync(spool.messagePath('D1'))).toBe(false);
    expect(existsSync(spool.statePath('D1'))).toBe(false);
    clock.advance(10 * MIN);
    await settle();
    expect(deliverer.calls).toHaveLength(1);
  });

  it('keeps the message queued when the deliverer throws, and retries it after the first delay', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r, call) => {
      if (call === 1) throw new Error('pool exploded');
      return r.map((i) => outcome(i, 'delivered'));
    };
    sched.add(await store('E1'), null);
    await until(() => errors.length === 1, 'error event');
    expect(errors[0]?.id).toBe('E1');
    expect(sched.get('E1')?.state.attempts).toBe(0); // nothing recorded
    expect(existsSync(spool.messagePath('E1'))).toBe(true);
    expect(clock.armed).toContain(T0 + 1 * MIN);

    clock.advance(1 * MIN);
    await until(() => removed.length === 1, 'delivered on retry');
    expect(deliverer.calls).toHaveLength(2);
  });

  it('keeps the message queued when the notifier fails, and writes no state', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, r) => r.map((i) => outcome(i, 'failed'));
    notifier.notify = async () => {
      throw new Error('disk full');
    };
    sched.add(await store('N1'), null);
    await until(() => errors.length === 1);
    expect(log).not.toContain('writeState N1');
    expect(log).not.toContain('remove N1');
    expect(sched.get('N1')?.state.recipients[0]?.status).toBe('pending');
  });

  it('stop() waits for active attempts and starts no new ones', async () => {
    const sched = makeScheduler(1);
    const gate = deferred<undefined>();
    deliverer.plan = async (_id, r) => {
      await gate.promise;
      return r.map((i) => outcome(i, 'delivered'));
    };
    sched.add(await store('S1'), null);
    sched.add(await store('S2'), null);
    await until(() => deliverer.inFlight === 1);
    let stopped = false;
    const stopping = sched.stop().then(() => void (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve(undefined);
    await stopping;
    expect(removed.map((r) => r.id)).toEqual(['S1']);
    clock.advance(60 * MIN);
    await settle();
    expect(deliverer.calls.map((c) => c.id)).toEqual(['S1']);
    expect(existsSync(spool.messagePath('S2'))).toBe(true);
  });

  it('stop() with nothing active resolves at once', async () => {
    const sched = makeScheduler();
    await sched.stop();
    sched.add(await store('L1'), null);
    await settle();
    expect(deliverer.calls).toEqual([]);
  });

  it('abortActive() aborts the signal given to the deliverer', async () => {
    const sched = makeScheduler();
    deliverer.plan = (_id, _r, call) => {
      const signal = deliverer.calls[call - 1]?.signal as AbortSignal;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    sched.add(await store('A1'), null);
    await until(() => deliverer.inFlight === 1);
    const stopping = sched.stop();
    sched.abortActive();
    await stopping;
    expect(errors.map((e) => e.id)).toEqual(['A1']);
    expect(existsSync(spool.messagePath('A1'))).toBe(true);
  });

  it('resumes from a loaded state: only pending recipients are attempted, at their due time', async () => {
    const sched = makeScheduler();
    const m = await store('R1', ['a@example.test', 'b@example.test']);
    const state: DeliveryState = {
      v: 1,
      recipients: [
        { status: 'delivered', lastReply: '250 ok', dsnStatus: '2.0.0', remoteMta: null, lastAttemptAt: T0 },
        { status: 'pending', lastReply: '451 later', dsnStatus: '4.0.0', remoteMta: null, lastAttemptAt: T0 },
      ],
      attempts: 1,
      nextAttemptAt: T0 + 5 * MIN,
      delayNotified: false,
    };
    sched.add(m, state);
    await settle();
    expect(deliverer.calls).toEqual([]);
    clock.advance(5 * MIN);
    await until(() => removed.length === 1);
    expect(deliverer.calls.map((c) => c.recipients)).toEqual([[1]]);
  });

  // Regression: a retry due at once used to be planned while the entry was still active, and the
  // pump dropped it -- the message stayed queued but was never attempted again.
  it('a retry delay of 0 retries the message instead of stranding it', async () => {
    const sched = makeScheduler(4, { retrySchedule: [0], lifetime: 60 * MIN, delayWarning: 0 });
    deliverer.plan = (_id, r, call) => r.map((i) => outcome(i, call === 1 ? 'retry' : 'delivered'));
    sched.add(await store('Z1'), null);
    await until(() => spool.wrote('Z1') === 1);
    await until(() => removed.length === 1, 'second attempt and removal');
    expect(deliverer.calls).toHaveLength(2);
    expect(clock.now()).toBe(T0);
  });
});
