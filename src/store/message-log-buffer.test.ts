import { describe, expect, it, vi } from 'vitest';
import { MessageLogBuffer } from './message-log-buffer.js';
import type { LogRecord, MessageLogStore, MessagePage, MessageStory, MessageSummary } from './message-log.js';

/** A store that records its writes, and fails or stalls on request. */
class RecordingStore implements MessageLogStore {
  writes: LogRecord[][] = [];
  failNext = false;
  gate: Promise<void> | null = null;
  closed = false;
  async write(records: readonly LogRecord[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk I/O error');
    }
    this.writes.push([...records]);
  }
  async search(): Promise<MessagePage> {
    return { items: [], next: null };
  }
  async lookup(): Promise<MessageSummary[]> {
    return [];
  }

  async story(): Promise<MessageStory | null> {
    return null;
  }
  async prune(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const rec = (n: number): LogRecord => ({ kind: 'state', queueId: `Q${n}`, time: n, state: 'delivered' });

describe('MessageLogBuffer', () => {
  it('writes what arrived within the flush interval as one batch, in order', async () => {
    const store = new RecordingStore();
    const errors: number[] = [];
    const b = new MessageLogBuffer(store, { flushMs: 20, batch: 100, maxBuffered: 1000, onError: (_e, n) => errors.push(n) });
    for (let i = 0; i < 5; i++) b.add(rec(i));
    expect(store.writes).toEqual([]); // nothing written synchronously: the SMTP path only pushes
    await new Promise((r) => setTimeout(r, 60));
    expect(store.writes).toEqual([[0, 1, 2, 3, 4].map(rec)]);
    expect(b.written).toBe(5);
    await b.close();
    expect(store.closed).toBe(true);
    expect(errors).toEqual([]);
  });

  it('writes at once when a whole batch waits, and in batches of that size', async () => {
    const store = new RecordingStore();
    const b = new MessageLogBuffer(store, { flushMs: 60_000, batch: 10, maxBuffered: 1000, onError: () => undefined });
    for (let i = 0; i < 10; i++) b.add(rec(i));
    await vi.waitFor(() => expect(store.writes.map((w) => w.length)).toEqual([10]));
    for (let i = 10; i < 33; i++) b.add(rec(i));
    await vi.waitFor(() => expect(store.writes.map((w) => w.length)).toEqual([10, 10, 10, 3])); // a write drains all that waits
    b.add(rec(33));
    // Several turns of the event loop later (a batch write takes one), the lone record still waits for the interval (or close).
    for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
    expect(store.writes).toHaveLength(4);
    await b.close();
    expect(store.writes.flat()).toEqual(Array.from({ length: 34 }, (_, i) => rec(i)));
  });

  it('drops and counts a batch the store failed to write, and goes on with the next', async () => {
    const store = new RecordingStore();
    const errors: { e: unknown; n: number }[] = [];
    const b = new MessageLogBuffer(store, { flushMs: 5, batch: 100, maxBuffered: 1000, onError: (e, n) => errors.push({ e, n }) });
    store.failNext = true;
    b.add(rec(1));
    b.add(rec(2));
    await b.flush();
    expect(errors.map((x) => x.n)).toEqual([2]);
    expect(String(errors[0]?.e)).toContain('disk I/O error');
    b.add(rec(3));
    await b.flush();
    expect(store.writes).toEqual([[rec(3)]]);
    expect(b.dropped).toBe(2);
    await b.close();
  });

  it('holds at most maxBuffered records while the store is slow, counting the rest as dropped', async () => {
    const store = new RecordingStore();
    let open = (): void => undefined;
    store.gate = new Promise((r) => (open = r));
    const errors: number[] = [];
    const b = new MessageLogBuffer(store, { flushMs: 1, batch: 5, maxBuffered: 10, onError: (_e, n) => errors.push(n) });
    for (let i = 0; i < 5; i++) b.add(rec(i)); // a full batch: its write starts and stalls
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 5; i < 30; i++) b.add(rec(i));
    expect(b.dropped).toBe(15);
    open();
    store.gate = null;
    await b.close();
    expect(store.writes.flat().length).toBe(15);
    expect(errors.reduce((s, n) => s + n, 0)).toBe(15);
  });
});
