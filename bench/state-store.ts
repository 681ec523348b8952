// The state store's cost per operation, SQLite file vs Redis on loopback, without the SMTP around
// it: N greylist-like rounds (get, setIfAbsent, increment) one after another (latency) and with 32
// in flight (throughput), on a scratch SQLite file and on a redis-server this script starts on a
// free loopback port and stops by PID (test/harness/redis.ts).
// Usage: npm run build && node dist/bench/state-store.js [N]   (default 20000; at most 1000000)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/platform/clock.js';
import { RedisStateStore } from '../src/store/redis/state.js';
import { SqliteStateStore } from '../src/store/sqlite/state.js';
import type { StateStore } from '../src/store/state.js';
import { startRedis } from '../test/harness/redis.js';
import { stopAll } from '../test/harness/process.js';

const n = Math.max(100, Math.min(1_000_000, Number(process.argv[2] ?? 20_000) || 20_000));

async function round(s: StateStore, i: number): Promise<void> {
  await s.get(`greylist:passed:${i % 5000}`);
  await s.setIfAbsent(`greylist:pending:${i % 5000}`, String(i), 3_600_000);
  await s.increment(`rate:client:${i % 100}`, 1, 3_600_000);
}

async function measure(name: string, s: StateStore): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await round(s, i);
  const serial = performance.now() - t0;
  let next = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) await round(s, next++);
    }),
  );
  const parallel = performance.now() - t1;
  const ops = n * 3;
  process.stdout.write(`${name}: ${((serial * 1000) / ops).toFixed(1)} µs/op one at a time, ${Math.round(ops / (parallel / 1000))} ops/s with 32 in flight (${ops} ops each)\n`);
}

const dir = await mkdtemp(join(tmpdir(), 'moat-bench-state-'));
try {
  const sqlite = new SqliteStateStore(join(dir, 'state.db'), systemClock);
  await measure('sqlite', sqlite);
  await sqlite.close();
  const redis = await startRedis();
  const r = new RedisStateStore({ url: `redis://127.0.0.1:${redis.port}/0`, keyPrefix: 'bench:', commandTimeoutMs: 5000, connectTimeoutMs: 5000 });
  await r.ready(5000);
  await measure('redis', r);
  await r.close();
} finally {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
}
