// The UDP socket pool against a scripted server that records each query's source port and answers
// with an address derived from the name, so that a mixed-up demultiplexing would show.
import type { DecodedPacket } from 'dns-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { replyTo, startScriptedDns } from '../../../test/harness/index.js';
import type { ScriptedDns } from '../../../test/harness/index.js';
import { systemClock } from '../clock.js';
import { UdpPool } from './udp.js';

const started: ScriptedDns[] = [];
afterAll(async () => {
  for (const s of started) await s.stop();
});

/** h17.pool.test -> 127.0.0.17 */
function echo(q: DecodedPacket): Buffer[] {
  const name = q.questions?.[0]?.name ?? '';
  const n = Number(/^h(\d+)\./.exec(name)?.[1] ?? 0);
  return [replyTo(q, { answers: [{ type: 'A', name, ttl: 60, data: `127.0.${n >> 8}.${n & 255}` }] })];
}

async function pool(limits: { maxSockets: number; queriesPerSocket: number }): Promise<{ s: ScriptedDns; p: UdpPool }> {
  const s = await startScriptedDns(echo);
  started.push(s);
  return { s, p: new UdpPool({ host: '127.0.0.1', port: s.port, family: 4 }, limits) };
}

const opts = { timeoutMs: 3000, clock: systemClock };

describe('UdpPool', () => {
  it('carries many queries on at most maxSockets sockets and gives each its own answer', async () => {
    const { s, p } = await pool({ maxSockets: 2, queriesPerSocket: 1000 });
    const out = await Promise.all(Array.from({ length: 60 }, (_, i) => p.exchange({ name: `h${i}.pool.test`, type: 'A', udpSize: 1232 }, opts)));
    out.forEach((e, i) => {
      expect(e.kind === 'reply' && e.reply.message?.answers?.[0]).toMatchObject({ data: `127.0.0.${i}` });
    });
    expect(new Set(s.queries.map((q) => q.port)).size).toBeLessThanOrEqual(2);
    expect(new Set(s.queries.map((q) => q.decoded?.id)).size).toBeGreaterThan(50);
    expect(p.sockets).toBe(0);
  });

  it('retires a socket after queriesPerSocket queries (new source ports)', async () => {
    const { s, p } = await pool({ maxSockets: 1, queriesPerSocket: 5 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.exchange({ name: `h${i}.pool.test`, type: 'A', udpSize: 1232 }, opts)));
    expect(s.queries).toHaveLength(20);
    expect(new Set(s.queries.map((q) => q.port)).size).toBe(4);
  });

  it('a quiet resolver uses a fresh socket per query and keeps none open', async () => {
    const { s, p } = await pool({ maxSockets: 8, queriesPerSocket: 100 });
    for (let i = 0; i < 5; i++) {
      expect(await p.exchange({ name: `h${i}.pool.test`, type: 'A', udpSize: 1232 }, opts)).toMatchObject({ kind: 'reply' });
      expect(p.sockets).toBe(0);
    }
    expect(new Set(s.queries.map((q) => q.port)).size).toBeGreaterThan(1);
  });
});
