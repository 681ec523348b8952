// DNS resolver micro-benchmark: `node dist/bench/dns-resolver.js [--names N] [--parallel P] [--hits H]`
// (after `npm run build`). Starts a dnsmasq on loopback with N host names (TTL 300), then measures
// interleaved, 3 rounds each after one warm-up round: cache misses through our resolver (UDP, a fresh socket per query),
// the same names through node's c-ares resolver (no cache, one socket per server), and cache hits.
// Prints one Markdown table. Bounded: N misses per round, H hits per round.
// Fails: exit 1 if a lookup gives anything but the expected record; stops dnsmasq by PID.
import { promises as nodeDns } from 'node:dns';
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, startDnsmasq, stopAll } from '../test/harness/index.js';
import { createResolver, dnsSchema } from '../src/platform/dns/index.js';

const { values } = parseArgs({ options: { names: { type: 'string', default: '1000' }, parallel: { type: 'string', default: '50' }, hits: { type: 'string', default: '1000000' } } });
const N = Math.min(5000, Number(values.names));
const P = Math.max(1, Number(values.parallel));
const H = Math.min(10_000_000, Number(values.hits));
const names = Array.from({ length: N }, (_, i) => `h${i}.bench.test`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function batches(lookup: (name: string) => Promise<boolean>): Promise<void> {
  for (let i = 0; i < N; i += P) {
    const ok = await Promise.all(names.slice(i, i + P).map(lookup));
    if (ok.includes(false)) throw new Error('a lookup failed');
  }
}

async function main(): Promise<void> {
  const dns = await startDnsmasq({ localTtl: 300, hosts: names.map((name) => ({ name, addresses: ['127.0.0.1'] })) });
  try {
    const cfg = dnsSchema.parse({ servers: [dns.server], timeout: '2s', tries: 1 });
    const cares = new nodeDns.Resolver({ timeout: 2000, tries: 1 });
    cares.setServers([dns.server]);
    const miss: number[] = [];
    const caresMs: number[] = [];
    const hit: number[] = [];
    // Round 0 warms the JIT up and is not counted.
    for (let round = 0; round < 4; round++) {
      const r = createResolver({ ...cfg, servers: [dns.server] });
      if (round === 0) {
        await batches(async (n) => (await r.lookup(n, 'A')).kind === 'ok');
        await batches(async (n) => (await cares.resolve4(n)).length === 1);
        continue;
      }
      miss.push(await timed(() => batches(async (n) => (await r.lookup(n, 'A')).kind === 'ok')));
      caresMs.push(await timed(() => batches(async (n) => (await cares.resolve4(n)).length === 1)));
      hit.push(
        await timed(async () => {
          for (let i = 0; i < H; i++) if ((await r.lookup(names[i % N] ?? '', 'A')).kind !== 'ok') throw new Error('a cache hit failed');
        }),
      );
    }
    const perSec = (ms: number): string => ((N / ms) * 1000).toFixed(0);
    process.stdout.write(
      [
        `| measure (${N} names, ${P} in parallel; median of 3) | value |`,
        '|---|---|',
        `| miss, our resolver (UDP to dnsmasq) | ${perSec(median(miss))} lookups/s |`,
        `| miss, node c-ares (no cache) | ${perSec(median(caresMs))} lookups/s |`,
        `| cache hit, awaited | ${((median(hit) * 1e6) / H).toFixed(0)} ns/lookup |`,
        '',
      ].join('\n'),
    );
  } finally {
    await stopAll();
    await removeAllScratchDirs();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
