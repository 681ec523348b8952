// The relay benchmark: smtp-source -> gateway -> smtp-sink for each system, interleaved.
// Haraka is installed on demand (lib/haraka-install.ts); when that fails (offline), the suite
// says why, records it under `skipped` and goes on without Haraka: the only system it skips.
// Each system gets its own counting sink and one long-lived gateway for the whole suite (as in
// production: warm processes, a spool that has been used). After unrecorded warm-up runs (every
// point, each system), the runs go: for each repeat, for each point, each system in turn (A B A B ...), so a
// slow drift of the machine hits both systems alike.
// Trusts: measure.ts for one run. Fails: the first failed run rejects the suite; gateways and
// sinks are always stopped (by PID, through the harness), newest first.
import { startCountingSink } from '../lib/counting-sink.js';
import { harakaForSuite } from '../lib/haraka-install.js';
import type { CountingSink } from '../lib/counting-sink.js';
import { machineInfo } from '../lib/machine.js';
import type { MachineInfo } from '../lib/machine.js';
import type { GatewayUnderTest, SystemName } from './gateway.js';
import { startHarakaGateway } from './haraka-gateway.js';
import { measureRun, sendWithSmtpSource } from './measure.js';
import type { Point, RunContext, RunFigures } from './measure.js';
import { startMoatGateway } from './moat-gateway.js';
import { checkOptions } from './options.js';
import type { RelayBenchOptions } from './options.js';
import { startPostfixGateway } from './postfix-gateway.js';
import { summarize } from './summary.js';
import type { PointSummary } from './summary.js';

export interface RelayReport {
  readonly suite: 'relay';
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: MachineInfo;
  /** How it was started (set by run.ts), e.g. "node dist/bench/run.js relay --quick". */
  readonly command?: string;
  readonly options: Omit<RelayBenchOptions, 'log' | 'moatNodeArgs'>;
  /** The systems that ran (options.systems less the skipped ones). */
  readonly systems: readonly SystemName[];
  readonly skipped: readonly { readonly system: SystemName; readonly reason: string }[];
  readonly runs: readonly RunFigures[];
  readonly summary: readonly PointSummary[];
}

interface Contestant {
  readonly gateway: GatewayUnderTest;
  readonly sink: CountingSink;
}

function startGateway(name: SystemName, o: RelayBenchOptions, sinkPort: number, harakaBin: string | undefined): Promise<GatewayUnderTest> {
  switch (name) {
    case 'moat':
      return startMoatGateway({ sinkPort, ...(o.moatNodeArgs !== undefined ? { nodeArgs: o.moatNodeArgs } : {}), ...(o.moatConfig !== undefined ? { config: o.moatConfig } : {}) });
    case 'postfix':
      return startPostfixGateway({ sinkPort });
    case 'haraka':
      if (harakaBin === undefined) throw new Error('haraka: not installed');
      return startHarakaGateway({ bin: harakaBin, sinkPort });
  }
}

async function startContestant(name: SystemName, o: RelayBenchOptions, harakaBin: string | undefined): Promise<Contestant> {
  const sink = await startCountingSink();
  try {
    const gateway = await startGateway(name, o, sink.port, harakaBin);
    return { gateway, sink };
  } catch (err: unknown) {
    await sink.stop();
    throw err;
  }
}

function pointsOf(o: RelayBenchOptions): Point[] {
  return o.modes.flatMap((mode) => o.sizes.flatMap((size) => o.sessions.map((sessions) => ({ size, sessions, mode }))));
}

/** Runs the relay suite and returns every run and the medians; see the header. */
export async function runRelaySuite(options: RelayBenchOptions): Promise<RelayReport> {
  const o = checkOptions(options);
  const log = o.log ?? ((): void => undefined);
  const startedAt = new Date();
  const loadAtStart = machineInfo().loadAtStart;
  const t0 = performance.now();
  const contestants: Contestant[] = [];
  const runs: RunFigures[] = [];
  const points = pointsOf(o);
  const { bin: harakaBin, version: harakaVersion, skipped } = await harakaForSuite(o.systems, log);
  const systems = o.systems.filter((s) => !skipped.some((k) => k.system === s));
  try {
    for (const name of systems) {
      contestants.push(await startContestant(name, o, harakaBin));
      log(`started ${name} on 127.0.0.1:${contestants.at(-1)?.gateway.port ?? '?'}`);
    }
    const ctx = (c: Contestant): RunContext => ({
      gateway: c.gateway,
      sink: c.sink,
      messages: o.messages,
      latencyMessages: o.latencyMessages,
      timeoutMs: o.runTimeoutMs,
    });
    // warm-up: a share of warmupMessages at every point, so every code path is hot (V8's JIT,
    // Postfix's idle daemons) before the first recorded run
    if (o.warmupMessages > 0) {
      const each = Math.max(20, Math.ceil(o.warmupMessages / points.length));
      for (const c of contestants) {
        for (const p of points) await sendWithSmtpSource(ctx(c), p, each);
        log(`warmed up ${c.gateway.name} with ${each} messages at each of ${points.length} point(s)`);
      }
    }
    for (let repeat = 1; repeat <= o.repeats; repeat++) {
      for (const point of points) {
        for (const c of contestants) {
          const r = await measureRun(ctx(c), point, repeat);
          runs.push(r);
          log(
            `#${repeat} ${c.gateway.name} ${point.size} B x${point.sessions} ${point.mode}: ${r.acceptedPerSec.toFixed(0)} accepted/${r.deliveredPerSec.toFixed(0)} delivered msg/s, ` +
              `${r.cpuMsPerMessage.toFixed(2)} CPU ms/msg, ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB RSS, ${(r.peakPssBytes / 2 ** 20).toFixed(0)} MiB PSS, ` +
              `eod p50 ${r.latency?.p50Ms.toFixed(1) ?? '-'} ms p99 ${r.latency?.p99Ms.toFixed(1) ?? '-'} ms`,
          );
        }
      }
    }
  } finally {
    for (const c of [...contestants].reverse()) {
      await c.gateway.stop();
      await c.sink.stop();
    }
  }
  const { log: _log, moatNodeArgs: _args, ...recorded } = o;
  return {
    suite: 'relay',
    startedAt: startedAt.toISOString(),
    durationSec: (performance.now() - t0) / 1000,
    machine: { ...machineInfo(harakaVersion === undefined ? {} : { haraka: harakaVersion }), ...(loadAtStart === undefined ? {} : { loadAtStart }) },
    options: recorded,
    systems,
    skipped,
    runs,
    summary: summarize(runs, points, systems),
  };
}
