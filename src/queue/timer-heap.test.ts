import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHeap } from './timer-heap.js';

describe('TimerHeap', () => {
  it('returns due ids in time order and keeps the rest', () => {
    const h = new TimerHeap();
    h.set('c', 30);
    h.set('a', 10);
    h.set('b', 20);
    h.set('d', 40);
    expect(h.peek()).toBe(10);
    expect(h.takeDue(25)).toEqual(['a', 'b']);
    expect(h.size).toBe(2);
    expect(h.peek()).toBe(30);
    expect(h.takeDue(29)).toEqual([]);
    expect(h.takeDue(100)).toEqual(['c', 'd']);
    expect(h.peek()).toBeNull();
    expect(h.size).toBe(0);
  });

  it('moves an id when set again: only the latest time counts', () => {
    const h = new TimerHeap();
    h.set('a', 10);
    h.set('b', 20);
    h.set('a', 50);
    expect(h.size).toBe(2);
    expect(h.peek()).toBe(20);
    expect(h.takeDue(30)).toEqual(['b']);
    expect(h.takeDue(60)).toEqual(['a']);
    h.set('x', 100);
    h.set('x', 5); // moved earlier
    expect(h.peek()).toBe(5);
    expect(h.takeDue(5)).toEqual(['x']);
    expect(h.takeDue(1000)).toEqual([]);
  });

  it('forgets a deleted id, including its stale heap entries', () => {
    const h = new TimerHeap();
    h.set('a', 10);
    h.set('a', 20);
    h.set('b', 30);
    h.delete('a');
    expect(h.size).toBe(1);
    expect(h.peek()).toBe(30);
    expect(h.takeDue(100)).toEqual(['b']);
    h.delete('never-there');
    expect(h.size).toBe(0);
  });

  it('an id set again with the same time after being taken is due again', () => {
    const h = new TimerHeap();
    h.set('a', 10);
    expect(h.takeDue(10)).toEqual(['a']);
    h.set('a', 10);
    expect(h.takeDue(10)).toEqual(['a']);
  });

  it('behaves like a map of id → time under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id: fc.integer({ min: 0, max: 15 }), at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('take' as const), now: fc.integer({ min: 0, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const h = new TimerHeap();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            h.set(String(o.id), o.at);
            model.set(String(o.id), o.at);
          } else if (o.kind === 'delete') {
            h.delete(String(o.id));
            model.delete(String(o.id));
          } else {
            const taken = h.takeDue(o.now);
            const expected = [...model].filter(([, at]) => at <= o.now);
            expect([...taken].sort()).toEqual(expected.map(([id]) => id).sort());
            // Earliest first.
            const times = taken.map((id) => model.get(id) as number);
            expect(times).toEqual([...times].sort((a, b) => a - b));
            for (const [id] of expected) model.delete(id);
          }
          expect(h.size).toBe(model.size);
          expect(h.peek()).toBe(model.size === 0 ? null : Math.min(...model.values()));
        }
      }),
      { numRuns: 300 },
    );
  });
});
