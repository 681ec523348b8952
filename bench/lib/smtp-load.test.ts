// The bench's load client (lib/smtp-load.ts) against real smtp-sinks: what it counts as failed (the
// server's 4xx, a connection error) stays apart from what its time bound left unsent (never
// started, or cut off in flight by the deadline), and the counts always add up to the messages asked.
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllScratchDirs, startSmtpSink, stopAll } from '../../test/harness/index.js';
import { startCountingSink } from './counting-sink.js';
import { runLoad } from './smtp-load.js';
import type { LoadResult } from './smtp-load.js';

afterAll(async () => {
  await stopAll();
  await removeAllScratchDirs();
});

const base = { sessions: 2, bodySize: 512, from: 'a@client.test', to: 'b@lan.test' } as const;
const total = (r: LoadResult): number => r.accepted + r.rejected + r.failed + r.unsent;

describe('runLoad: failed apart from unsent', () => {
  it('counts a 4xx to the end of data as failed, with its reason, and nothing as unsent', async () => {
    const sink = await startSmtpSink({ capture: false, softReject: ['.'] });
    const r = await runLoad({ ...base, port: sink.port, messages: 6 });
    expect(r.failed).toBe(6);
    expect(r.accepted).toBe(0);
    expect(r.unsent).toBe(0);
    expect(r.cutOff).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.errors[0]).toMatch(/^end of data: 4\d\d/);
  });

  it('counts the messages in flight at the deadline as cut off and unsent, not failed', async () => {
    // smtp-sink waits 30 s before answering DATA: both sessions are in flight when the 3 s bound ends
    const sink = await startSmtpSink({ capture: false, dataDelaySec: 30 });
    const r = await runLoad({ ...base, port: sink.port, messages: 5, timeoutMs: 3000 });
    expect(r.timedOut).toBe(true);
    expect(r.failed).toBe(0);
    expect(r.errors).toEqual([]);
    expect(r.cutOff).toBe(2);
    expect(r.unsent).toBe(5);
    expect(total(r)).toBe(5);
  });

  it('counts what a paced load could not start within its bound as unsent', async () => {
    const sink = await startCountingSink();
    try {
      // 40 messages at 20/s need 2 s; the bound is 1 s
      const r = await runLoad({ ...base, port: sink.port, messages: 40, ratePerSec: 20, timeoutMs: 1000 });
      expect(r.timedOut).toBe(true);
      expect(r.failed).toBe(0);
      expect(r.unsent).toBeGreaterThanOrEqual(15);
      expect(r.accepted).toBeGreaterThan(0);
      expect(total(r)).toBe(40);
    } finally {
      await sink.stop();
    }
  });
});
