// Connect + HELO cost of the reputation checks: `node dist/bench/reputation-checks.js [--sessions N]`
// (after `npm run build`). Starts a dnsmasq on loopback (TTL 300) with 200 forward-confirmed clients,
// runs dnsbl (3 zones, one listing), rdns and helo through the real pipeline for N sessions one after
// another, once with the resolver cache off (every session asks: 3 DNSBL A, PTR, A back, HELO
// A/AAAA/MX) and once on, and prints one Markdown table of latency per session.
// Bounded: N ≤ 20000 sessions per round. Fails: exit 1 if a session finds other than expected;
// stops dnsmasq by PID.
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, startDnsmasq, stopAll } from '../test/harness/index.js';
import { dnsblSchema } from '../src/checks/dnsbl/config.js';
import { dnsbl } from '../src/checks/dnsbl/index.js';
import { heloSchema } from '../src/checks/helo/config.js';
import { helo } from '../src/checks/helo/index.js';
import { rdnsSchema } from '../src/checks/rdns/config.js';
import { rdns } from '../src/checks/rdns/index.js';
import { policySchema } from '../src/pipeline/config.js';
import { createPolicy, PipelineSession } from '../src/pipeline/runner.js';
import { createResolver, dnsSchema } from '../src/platform/dns/index.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '2000' } } });
const N = Math.min(20_000, Math.max(1, Number(values.sessions)));
const CLIENTS = 200;
const ip = (i: number): string => `127.0.1.${(i % CLIENTS) + 1}`;

const dns = await startDnsmasq({
  hosts: Array.from({ length: CLIENTS }, (_, i) => ({ name: `h${i}.sender.test`, addresses: [ip(i)] })),
  dnsbl: [{ zone: 'a.test', listed: [{ ip: ip(4) }] }, { zone: 'b.test', listed: [] }, { zone: 'wl.test', listed: [] }],
  localSuffixes: ['test', '127.in-addr.arpa'],
  localTtl: 300,
});
const rows: string[] = [];
try {
  for (const cache of [false, true]) {
    const cfg = dnsSchema.parse({ servers: [dns.server], timeout: '2s', tries: 1, cache: { maxEntries: cache ? 10_000 : 0 } });
    const resolver = createResolver({ ...cfg, servers: [dns.server] });
    const ports = { resolver, hostname: 'mx.moat.test' };
    const checks = [
      dnsbl(dnsblSchema.parse({ sites: ['a.test*2', 'b.test', 'wl.test*-2'] }), ports),
      rdns(rdnsSchema.parse({}), ports),
      helo(heloSchema.parse({}), ports),
    ].map((check) => ({ check, observe: false, failOpen: false }));
    const policy = createPolicy(checks, policySchema.parse({}));
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const p = new PipelineSession({ checks, policy, isLocal: () => false }, { id: 'b', clientIp: ip(i), clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
      const s = performance.now();
      const c = await p.connect(AbortSignal.timeout(5000));
      const h = await p.helo(`h${i % CLIENTS}.sender.test`, AbortSignal.timeout(5000));
      times.push(performance.now() - s);
      const found = [...c.findings, ...h.findings].map((f) => f.symbol).join(',');
      if (found !== (i % CLIENTS === 4 ? 'DNSBL_A_TEST' : '')) throw new Error(`session ${i} from ${ip(i)} found "${found}"`);
    }
    const secs = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    const q = (f: number): string => (times[Math.floor(f * (times.length - 1))] ?? 0).toFixed(2);
    const st = resolver.stats();
    rows.push(`| ${cache ? 'on' : 'off'} | ${N} | ${q(0.5)} | ${q(0.99)} | ${(N / secs).toFixed(0)} | ${(st.queries / N).toFixed(1)} |`);
  }
  console.log('| resolver cache | sessions | p50 ms | p99 ms | sessions/s (one at a time) | DNS messages per session |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
} finally {
  await stopAll();
  await removeAllScratchDirs();
}
