import { describe, expect, it } from 'vitest';
import { deadline, sleep } from './deadline.js';

describe('deadline', () => {
  it('sleeps until aborted, with the abort reason', async () => {
    const c = new AbortController();
    const s = sleep(60_000, c.signal);
    c.abort(new Error('deadline'));
    await expect(s).rejects.toThrow('deadline');
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('aborts with a TimeoutError after its time, even when nothing else holds it and the heap is collected', async () => {
    const signal = deadline(50).signal;
    // AbortSignal.any([AbortSignal.timeout(50)]) may never fire after a collection (nodejs/node#57736).
    const aborted = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
    (globalThis as { gc?: () => void }).gc?.();
    expect(((await aborted) as DOMException).name).toBe('TimeoutError');
  });

  it('aborts with its parent\'s reason and unhooks from the parent once cleared', () => {
    const parent = new AbortController();
    const d = deadline(60_000, [parent.signal]);
    parent.abort(new Error('shutdown'));
    expect((d.signal.reason as Error).message).toBe('shutdown');
    const other = new AbortController();
    const cleared = deadline(60_000, [other.signal]);
    cleared.clear();
    other.abort(new Error('late'));
    expect(cleared.signal.aborted).toBe(false);
    expect(deadline(null, [parent.signal]).signal.aborted).toBe(true);
  });
});
