import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { applyAttempt, decodeState, encodeState, initialState, type DeliveryState, type RecipientOutcome, type Schedule } from './state.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = 1_700_000_000_000; // receivedAt
const schedule: Schedule = { retrySchedule: [1 * MIN, 5 * MIN, 15 * MIN], lifetime: 24 * HOUR, delayWarning: 4 * HOUR };

const delivered = (index: number): RecipientOutcome => ({ index, kind: 'delivered', reply: '250 2.0.0 Ok', dsnStatus: '2.0.0', remoteMta: 'lan.example' });
const retry = (index: number): RecipientOutcome => ({ index, kind: 'retry', reply: '451 4.3.0 later', dsnStatus: '4.3.0', remoteMta: 'lan.example' });
const failed = (index: number): RecipientOutcome => ({ index, kind: 'failed', reply: '550 5.1.1 no such user', dsnStatus: '5.1.1', remoteMta: 'lan.example' });

describe('applyAttempt', () => {
  it('records 2xx, 4xx and 5xx per recipient in one attempt (partial success)', () => {
    const r = applyAttempt(initialState(3, T0), [delivered(0), retry(1), failed(2)], T0, T0 + 1000, schedule);
    expect(r.state.recipients.map((x) => x.status)).toEqual(['delivered', 'pending', 'failed']);
    expect(r.newlyDelivered).toEqual([0]);
    expect(r.newlyFailed).toEqual([2]);
    expect(r.delayed).toEqual([]);
    expect(r.done).toBe(false);
    expect(r.state.attempts).toBe(1);
    expect(r.state.recipients[1]).toEqual({ status: 'pending', lastReply: '451 4.3.0 later', dsnStatus: '4.3.0', remoteMta: 'lan.example', lastAttemptAt: T0 + 1000 });
    expect(r.state.recipients[2]?.dsnStatus).toBe('5.1.1');
  });

  it('does not change a recipient that is already final', () => {
    const first = applyAttempt(initialState(2, T0), [delivered(0), retry(1)], T0, T0, schedule);
    const second = applyAttempt(first.state, [failed(0), delivered(1)], T0, T0 + MIN, schedule);
    expect(second.state.recipients.map((x) => x.status)).toEqual(['delivered', 'delivered']);
    expect(second.newlyFailed).toEqual([]);
    expect(second.newlyDelivered).toEqual([1]);
    expect(second.done).toBe(true);
  });

  it('ignores outcomes for indices that do not exist', () => {
    const r = applyAttempt(initialState(1, T0), [delivered(5), retry(0)], T0, T0, schedule);
    expect(r.state.recipients).toHaveLength(1);
    expect(r.newlyDelivered).toEqual([]);
  });

  it('follows the retry schedule and repeats its last delay', () => {
    let s: DeliveryState = initialState(1, T0);
    let now = T0;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = applyAttempt(s, [retry(0)], T0, now, schedule);
      delays.push(r.state.nextAttemptAt - now);
      expect(r.state.attempts).toBe(i + 1);
      s = r.state;
      now = s.nextAttemptAt;
    }
    expect(delays).toEqual([1 * MIN, 5 * MIN, 15 * MIN, 15 * MIN, 15 * MIN, 15 * MIN]);
  });

  it('never schedules the next attempt past receivedAt + lifetime', () => {
    const now = T0 + schedule.lifetime - 30_000; // 30 s before expiry, next delay would be 1 min
    const r = applyAttempt(initialState(1, T0), [retry(0)], T0, now, schedule);
    expect(r.state.nextAttemptAt).toBe(T0 + schedule.lifetime);
    expect(r.done).toBe(false);
    expect(r.state.recipients[0]?.status).toBe('pending');
  });

  it('turns pending recipients into expired at the end of the lifetime and reports them as failed', () => {
    const before = applyAttempt(initialState(3, T0), [delivered(0), retry(1)], T0, T0, schedule).state;
    const r = applyAttempt(before, [retry(1)], T0, T0 + schedule.lifetime, schedule);
    expect(r.state.recipients.map((x) => x.status)).toEqual(['delivered', 'expired', 'expired']);
    expect([...r.newlyFailed].sort()).toEqual([1, 2]);
    expect(r.done).toBe(true);
    // The last reply we saw is kept as the reason; a recipient never tried gets our own.
    expect(r.state.recipients[1]).toMatchObject({ lastReply: '451 4.3.0 later', dsnStatus: '4.3.0' });
    expect(r.state.recipients[2]).toMatchObject({ lastReply: 'delivery time expired', dsnStatus: '4.4.7', lastAttemptAt: T0 + schedule.lifetime });
    expect(r.delayed).toEqual([]);
  });

  it('does not expire one millisecond before the lifetime ends', () => {
    const r = applyAttempt(initialState(1, T0), [retry(0)], T0, T0 + schedule.lifetime - 1, schedule);
    expect(r.state.recipients[0]?.status).toBe('pending');
    expect(r.newlyFailed).toEqual([]);
  });

  it('emits the delay warning once, only after delayWarning, for the recipients still pending', () => {
    let s = applyAttempt(initialState(2, T0), [delivered(0), retry(1)], T0, T0, schedule).state;
    const early = applyAttempt(s, [retry(1)], T0, T0 + schedule.delayWarning - 1, schedule);
    expect(early.delayed).toEqual([]);
    expect(early.state.delayNotified).toBe(false);
    s = early.state;
    const warn = applyAttempt(s, [retry(1)], T0, T0 + schedule.delayWarning, schedule);
    expect(warn.delayed).toEqual([1]);
    expect(warn.state.delayNotified).toBe(true);
    const later = applyAttempt(warn.state, [retry(1)], T0, T0 + schedule.delayWarning + HOUR, schedule);
    expect(later.delayed).toEqual([]);
    expect(later.state.delayNotified).toBe(true);
  });

  it('sends no delay warning when delayWarning is 0 or nothing is pending', () => {
    const never = applyAttempt(initialState(1, T0), [retry(0)], T0, T0 + 10 * HOUR, { ...schedule, delayWarning: 0 });
    expect(never.delayed).toEqual([]);
    const allDone = applyAttempt(initialState(1, T0), [delivered(0)], T0, T0 + 10 * HOUR, schedule);
    expect(allDone.delayed).toEqual([]);
    expect(allDone.done).toBe(true);
  });

  it('is done only when every recipient is final', () => {
    const a = applyAttempt(initialState(2, T0), [failed(0)], T0, T0, schedule);
    expect(a.done).toBe(false); // recipient 1 got no outcome: still pending
    const b = applyAttempt(a.state, [delivered(1)], T0, T0 + MIN, schedule);
    expect(b.done).toBe(true);
    expect(b.newlyFailed).toEqual([]);
  });

  it('does not mutate the state it was given', () => {
    const s = initialState(2, T0);
    const copy = JSON.parse(JSON.stringify(s)) as DeliveryState;
    applyAttempt(s, [delivered(0), failed(1)], T0, T0, schedule);
    expect(s).toEqual(copy);
  });
});

describe('state file encoding', () => {
  const sample = applyAttempt(initialState(3, T0), [delivered(0), retry(1), failed(2)], T0, T0 + 5, schedule).state;

  it('round-trips', () => {
    expect(decodeState(encodeState(sample))).toEqual(sample);
    expect(decodeState(encodeState(initialState(0, T0)))).toEqual(initialState(0, T0));
  });

  it('rejects a state torn at any length', () => {
    const text = encodeState(sample);
    for (let n = 0; n < text.length; n++) expect(decodeState(text.slice(0, n)), `cut at ${n}`).toBeNull();
  });

  it('rejects a state with any one character changed', () => {
    const text = encodeState(sample);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const changed = text.slice(0, i) + String.fromCharCode(c === 0x30 ? 0x31 : c ^ 0x01) + text.slice(i + 1);
      expect(decodeState(changed), `changed at ${i}`).toBeNull();
    }
  });

  it('rejects trailing garbage and a missing checksum line', () => {
    const text = encodeState(sample);
    expect(decodeState(`${text}x`)).toBeNull();
    expect(decodeState(`${text.split('\n')[0] ?? ''}\n`)).toBeNull();
    expect(decodeState('')).toBeNull();
  });

  // Regression: JSON.parse and `s.v` ran unguarded, so checksummed non-state text threw.
  it('returns null, never throws, for checksummed text that is not a state object', () => {
    const framed = (json: string): string => `${json}\n${crc32(json).toString(16).padStart(8, '0')}\n`;
    for (const json of ['null', '{not json', '"text"', '42', '{"v":2,"recipients":[]}', '{"v":1}']) {
      expect(() => decodeState(framed(json)), json).not.toThrow();
      expect(decodeState(framed(json)), json).toBeNull();
    }
  });
});
