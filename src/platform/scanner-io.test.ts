import { describe, expect, it } from 'vitest';
import { ScannerError, Slots } from './scanner-io.js';

const never = (): AbortSignal => new AbortController().signal;

describe('Slots', () => {
  it('lets `limit` scans run and hands each freed slot to the next waiter in order', async () => {
    const s = new Slots(2, 'test');
    const r1 = await s.acquire(never());
    const r2 = await s.acquire(never());
    const order: number[] = [];
    const w3 = s.acquire(never()).then((r) => (order.push(3), r));
    const w4 = s.acquire(never()).then((r) => (order.push(4), r));
    expect(s.running).toBe(2);
    r1();
    r1(); // a second release of the same slot does nothing
    const r3 = await w3;
    expect(order).toEqual([3]);
    r2();
    const r4 = await w4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.running).toBe(0);
  });

  it('drops a waiter whose deadline passes, without losing the slot', async () => {
    const s = new Slots(1, 'test');
    const r1 = await s.acquire(never());
    const c = new AbortController();
    const late = s.acquire(c.signal).catch((e: unknown) => e);
    const next = s.acquire(never());
    c.abort();
    const e = await late;
    expect(e).toBeInstanceOf(ScannerError);
    expect((e as ScannerError).code).toBe('SCANNER_TIMEOUT');
    r1();
    (await next)();
    expect(s.running).toBe(0);
  });

  it('refuses at once when the deadline has already passed', async () => {
    const c = new AbortController();
    c.abort();
    await expect(new Slots(1, 'test').acquire(c.signal)).rejects.toThrow(/deadline passed before the scan started/);
  });
});
