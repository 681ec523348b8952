// The scale-out benchmark (issue 7): on one box, Moat as
//   embedded  one node on its SQLite files (state.db, bayes.db, store.db),
//   shared-1  one node on a real redis-server (state, Bayes tokens) and PostgreSQL (message log),
//   shared-2  two nodes on the same Redis and PostgreSQL, each with its own listener, spool and
//             sink, the load split evenly between them by the load client (two smtp-source runs
//             at once, half the sessions and half the messages each).
// Every node does the work that makes the shared state count: greylisting off (a bench client
// never retries), a per-client message rate limit (one Redis counter per MAIL, never reached), and
// Bayes on and trained (`moat learn` through the node's own config: 30 + 30 messages), so every
// message is one token lookup; the message log is written to the store. The message is a
// pre-formatted ham-like text of ~2 KB (smtp-source -F), so it is delivered, never quarantined.
// Figures per run and node: accepted msg/s (smtp-source's 250s over its wall time), delivered
// msg/s (until the node's sink has them all), CPU ms per message of the node's process tree, and
// for the shared setups the CPU of redis-server and of PostgreSQL (postmaster and backends). The
// report takes, per setup, the run with the median total accepted rate.
// Trusts: the box's two cores are shared by everything (load client, nodes, stores), so two nodes
// split the same CPU: the per-node figures and the overhead of the shared stores are the point,
// not a speed-up. Fails: rejects when smtp-source fails or a run's delivery does not complete in
// timeoutMs; every started process is stopped by PID (the harness registry).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeScratchDir, runCommand, runSmtpSource, startPostgres, startRedis, type PostgresHandle, type RedisHandle } from '../../test/harness/index.js';
import { startCountingSink, type CountingSink } from '../lib/counting-sink.js';
import { machineInfo, type MachineInfo } from '../lib/machine.js';
import { moatBin } from '../lib/paths.js';
import { treeCpuSeconds } from '../lib/proc-stats.js';
import { median } from '../lib/stats.js';
import { RECIPIENT, SENDER, type GatewayUnderTest } from '../relay/gateway.js';
import { moatBenchConfig, startMoatGateway } from '../relay/moat-gateway.js';
import { smtpSourceCount } from '../relay/measure.js';
import { SCALE_SETUP_LABELS, validateScaleOptions, type ScaleBenchOptions, type ScaleSetup } from './options.js';
import { loadMessage, trainingSet } from './words.js';

export interface NodeRun {
  readonly node: string;
  readonly messages: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly acceptSec: number;
  readonly elapsedSec: number;
  readonly acceptedPerSec: number;
  readonly deliveredPerSec: number;
  readonly cpuMsPerMessage: number;
}

export interface SetupRun {
  readonly repeat: number;
  readonly nodes: readonly NodeRun[];
  /** Over all nodes: every acceptance over the longest smtp-source wall time. */
  readonly acceptedPerSec: number;
  readonly deliveredPerSec: number;
  /** CPU of redis-server and of PostgreSQL per message (0 for the embedded setup). */
  readonly redisCpuMsPerMessage: number;
  readonly postgresCpuMsPerMessage: number;
}

export interface SetupResult {
  readonly setup: ScaleSetup;
  readonly label: string;
  readonly nodes: number;
  readonly runs: readonly SetupRun[];
  /** The run with the median total accepted rate. */
  readonly median: SetupRun;
}

export interface ScaleReport {
  readonly suite: 'scale';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly options: Omit<ScaleBenchOptions, 'log'>;
  readonly results: readonly SetupResult[];
  /** How it was started (bench/run.ts adds it). */
  readonly command?: string;
}

interface Node {
  readonly name: string;
  readonly gateway: GatewayUnderTest;
  readonly sink: CountingSink;
}

interface Shared {
  readonly redis: RedisHandle;
  readonly pg: PostgresHandle;
}

/** The checks every node runs: the bench's relay checks plus rate limits and Bayes, no greylisting. */
function benchChecks(base: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(base['checks'] as Record<string, unknown>),
    greylist: { enabled: false },
    rateLimit: { messagesPerClient: { count: 100_000_000, per: '1h' } },
    bayes: { minSpam: 20, minHam: 20 },
  };
}

/** Config of one node: the bench's Moat config plus node name, workers, stores. */
function nodeConfig(name: string, sinkPort: number, dataDir: string, o: ScaleBenchOptions, shared: { state: string; store: string; prefix: string } | null): Record<string, unknown> {
  const base = moatBenchConfig(1, sinkPort, dataDir);
  return {
    node: name,
    workers: o.workers,
    checks: benchChecks(base),
    ...(shared !== null ? { state: shared.state, store: shared.store, redis: { keyPrefix: shared.prefix } } : {}),
  };
}

/** `moat learn spam|ham DIR` through a node's config, as an operator trains the cluster. */
async function train(dir: string, config: Record<string, unknown>, corpus: string): Promise<void> {
  const file = join(dir, 'learn.yaml');
  await writeFile(file, stringify(config));
  for (const kind of ['spam', 'ham'] as const) {
    const r = await runCommand(process.execPath, [moatBin(), 'learn', kind, join(corpus, kind), '--config', file], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`moat learn ${kind}: exit ${String(r.code)}: ${r.stderr.slice(-500)}`);
  }
}

async function startNodes(setup: ScaleSetup, o: ScaleBenchOptions, corpus: string, shared: Shared | null, run: number): Promise<Node[]> {
  const count = setup === 'shared-2' ? 2 : 1;
  const stores = shared !== null ? { state: `redis://127.0.0.1:${shared.redis.port}/0`, store: await shared.pg.createDatabase(`moat_${setup.replace('-', '_')}_${run}`), prefix: `bench-${setup}-${run}:` } : null;
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const name = `node-${String.fromCharCode(97 + i)}`;
    const dir = await makeScratchDir('moat-bench-scale-');
    const sink = await startCountingSink();
    const config = nodeConfig(name, sink.port, join(dir, 'data'), o, stores);
    // Trained once: through the first node (shared setups share the tokens) or the only one.
    if (i === 0) await train(dir, { ...moatBenchConfig(1, sink.port, join(dir, 'data')), ...config }, corpus);
    const gateway = await startMoatGateway({ sinkPort: sink.port, dir, config });
    nodes.push({ name, gateway, sink });
  }
  return nodes;
}

/** Sends `messages` over `sessions` to one node with smtp-source and waits for its sink. */
async function send(node: Node, messages: number, sessions: number, messageFile: string, timeoutMs: number): Promise<Omit<NodeRun, 'cpuMsPerMessage' | 'acceptedPerSec' | 'deliveredPerSec'>> {
  const base = node.sink.count();
  const delivered = node.sink.whenCount(base + messages, timeoutMs);
  delivered.catch(() => undefined);
  const t0 = performance.now();
  const src = await runSmtpSource({ port: node.gateway.port, sessions, messages, messageFile, counter: true, from: SENDER, to: RECIPIENT, heloName: 'client.test', timeoutMs });
  if (src.code !== 0) throw new Error(`smtp-source against ${node.name} exited ${String(src.code)}: ${src.stdout.slice(-300)} ${src.stderr.slice(-800)}`);
  const t1 = await delivered;
  return { node: node.name, messages, accepted: smtpSourceCount(src.stdout), delivered: node.sink.count() - base, acceptSec: src.elapsedMs / 1000, elapsedSec: (t1 - t0) / 1000 };
}

async function measure(nodes: readonly Node[], o: ScaleBenchOptions, messageFile: string, shared: Shared | null, repeat: number): Promise<SetupRun> {
  const per = Math.floor(o.messages / nodes.length);
  const sessions = Math.max(1, Math.floor(o.sessions / nodes.length));
  const cpu = (): number[] => nodes.map((n) => treeCpuSeconds(n.gateway.roots()));
  const storeCpu = (): [number, number] => (shared !== null ? [treeCpuSeconds([shared.redis.process.pid]), treeCpuSeconds([shared.pg.process.pid])] : [0, 0]);
  const cpu0 = cpu();
  const store0 = storeCpu();
  const sent = await Promise.all(nodes.map((n) => send(n, per, sessions, messageFile, o.timeoutMs)));
  const cpu1 = cpu();
  const store1 = storeCpu();
  const runs = sent.map((s, i) => ({
    ...s,
    acceptedPerSec: s.accepted / s.acceptSec,
    deliveredPerSec: s.delivered / s.elapsedSec,
    cpuMsPerMessage: ((cpu1[i] ?? 0) - (cpu0[i] ?? 0)) * 1000 / s.messages,
  }));
  const total = runs.reduce((t, r) => t + r.messages, 0);
  return {
    repeat,
    nodes: runs,
    acceptedPerSec: runs.reduce((t, r) => t + r.accepted, 0) / Math.max(...runs.map((r) => r.acceptSec)),
    deliveredPerSec: runs.reduce((t, r) => t + r.delivered, 0) / Math.max(...runs.map((r) => r.elapsedSec)),
    redisCpuMsPerMessage: ((store1[0] - store0[0]) * 1000) / total,
    postgresCpuMsPerMessage: ((store1[1] - store0[1]) * 1000) / total,
  };
}

export async function runScaleSuite(o: ScaleBenchOptions): Promise<ScaleReport> {
  validateScaleOptions(o);
  const log = o.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const dir = await makeScratchDir('moat-bench-scale-');
  const corpus = join(dir, 'corpus');
  for (const [kind, messages] of Object.entries(trainingSet(30))) {
    await mkdir(join(corpus, kind), { recursive: true });
    await Promise.all(messages.map((m, i) => writeFile(join(corpus, kind, `${i}.eml`), m)));
  }
  const messageFile = join(dir, 'message.eml');
  // smtp-source -F sends each line of the file with CRLF itself: the file has bare LFs.
  await writeFile(messageFile, loadMessage().replace(/\r\n/g, '\n'));
  const needsShared = o.setups.some((s) => s !== 'embedded');
  const shared: Shared | null = needsShared ? await Promise.all([startRedis(), startPostgres()]).then(([redis, pg]) => ({ redis, pg })) : null;
  const results: SetupResult[] = [];
  try {
    for (const setup of o.setups) {
      const runs: SetupRun[] = [];
      for (let r = 0; r < o.repeats; r++) {
        log(`${setup}: run ${r + 1}/${o.repeats}: starting ${setup === 'shared-2' ? 'two nodes' : 'one node'}`);
        const nodes = await startNodes(setup, o, corpus, setup === 'embedded' ? null : shared, r);
        try {
          if (o.warmup > 0) await Promise.all(nodes.map((n) => send(n, o.warmup, Math.min(o.warmup, 4), messageFile, o.timeoutMs)));
          const run = await measure(nodes, o, messageFile, setup === 'embedded' ? null : shared, r);
          log(`${setup}: run ${r + 1}: ${run.acceptedPerSec.toFixed(0)} accepted/s, ${run.deliveredPerSec.toFixed(0)} delivered/s in total (${run.nodes.map((n) => `${n.node} ${n.acceptedPerSec.toFixed(0)}/${n.deliveredPerSec.toFixed(0)}`).join(', ')})`);
          runs.push(run);
        } finally {
          await Promise.all(nodes.map(async (n) => {
            await n.gateway.stop();
            await n.sink.stop();
          }));
        }
      }
      const mid = median(runs.map((x) => x.acceptedPerSec));
      const chosen = runs.reduce((best, x) => (Math.abs(x.acceptedPerSec - mid) < Math.abs(best.acceptedPerSec - mid) ? x : best));
      results.push({ setup, label: SCALE_SETUP_LABELS[setup], nodes: setup === 'shared-2' ? 2 : 1, runs, median: chosen });
    }
  } finally {
    if (shared !== null) await Promise.all([shared.redis.stop(), shared.pg.stop()]);
  }
  const { log: _log, ...options } = o;
  return { suite: 'scale', startedAt, finishedAt: new Date().toISOString(), machine, options, results };
}
