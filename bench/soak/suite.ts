// The soak benchmark: a steady rate of mail into Moat for a long time while its downstream flaps.
//
//   paced load client ──▶ Moat ──▶ smtp-sink -c -D (stopped every flapEvery for downSec, started
//                                  again on the same port)
//
// Each message has its own Message-ID (soak.N). The sink appends every transaction to a dump file
// (one per sink lifetime), so at the end the suite knows which messages arrived, not just how many:
// lost = accepted by Moat (end-of-data 250) but in no dump, however long the drain was allowed.
// While the sink is down Moat must accept as usual and queue (its retry schedule is one short
// delay, repeated); Moat's RSS (supervisor and workers) is sampled throughout.
// Trusts: smtp-sink to have written a transaction to its dump before it answers the final "."
// (so a message it counted is in the file once it has exited). Fails: rejects when Moat or a sink
// does not start, or when the sink cannot get its port back; lost mail is a figure in the report
// (the smoke test asserts it is zero), never thrown. Every process is stopped by PID.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeDirOwnedBy, makeScratchDir } from '../../test/harness/index.js';
import { startCountingSink } from '../lib/counting-sink.js';
import type { CountingSink } from '../lib/counting-sink.js';
import { machineInfo } from '../lib/machine.js';
import type { MachineInfo } from '../lib/machine.js';
import { buildMessage } from '../lib/message.js';
import { startRssSampler } from '../lib/rss-sampler.js';
import { runLoad } from '../lib/smtp-load.js';
import type { LoadResult } from '../lib/smtp-load.js';
import { median, percentile } from '../lib/stats.js';
import { RECIPIENT, SENDER } from '../relay/gateway.js';
import { startMoatGateway } from '../relay/moat-gateway.js';
import { checkSoakOptions } from './options.js';
import type { SoakBenchOptions } from './options.js';

export interface Flap {
  /** Seconds since the load started. */
  readonly downAt: number;
  readonly upAt: number;
}

/**
 * What the load client says of the offered messages (lib/smtp-load.ts): accepted (end-of-data 250),
 * failed (a 4xx/5xx reply, a connection error or a reply timeout), unsent (the load's time bound,
 * duration + 300 s, ran out first; cutOff of them were in flight), and up to 10 failure reasons.
 */
export interface SoakReport extends Pick<LoadResult, 'accepted' | 'failed' | 'unsent' | 'cutOff' | 'errors'> {
  readonly suite: 'soak';
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: MachineInfo;
  readonly command?: string;
  readonly options: Omit<SoakBenchOptions, 'log'>;
  readonly offered: number;
  /** Distinct accepted messages found in the sink's dumps. */
  readonly delivered: number;
  /** Accepted messages in no dump at the end of the drain. */
  readonly lost: number;
  /** Up to 20 of their numbers. */
  readonly lostIds: readonly number[];
  /** Extra copies (the sink counted a message whose 250 Moat did not get, so Moat sent it again). */
  readonly duplicates: number;
  /** Messages in a dump whose end-of-data 250 the client never got (it failed or timed out). */
  readonly deliveredUnconfirmed: number;
  readonly flaps: readonly Flap[];
  /** From the end of the load until the sink had every accepted message (NaN if it never did). */
  readonly drainSec: number;
  readonly loadSec: number;
  readonly achievedPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rss: {
    /** [seconds since the load started, MiB], every sampleEverySec. */
    readonly series: readonly (readonly [number, number])[];
    /** Median of the samples in the second fifth of the load (after the warm-up) and in the last fifth. */
    readonly earlyMiB: number;
    readonly lateMiB: number;
    readonly peakMiB: number;
    readonly peakPssMiB: number;
  };
}

/** Message-ID of soak message i (lib/message.ts puts "@bench.client.test" after it). */
const idOf = (i: number): string => `soak.${i}`;
const ID_RE = /^Message-ID: <soak\.(\d+)@bench\.client\.test>/gim;

/** How often each message number appears in the dump files. */
async function dumpCounts(files: readonly string[]): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (const f of files) {
    const text = await readFile(f, 'latin1').catch(() => '');
    for (const m of text.matchAll(ID_RE)) {
      const n = Number(m[1]);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
  }
  return seen;
}

/** Starts a sink on `port` (the previous one's), retrying while the port is still being released. */
async function restartSink(port: number, dumpFile: string): Promise<CountingSink> {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      return await startCountingSink({ port, dumpFile });
    } catch (err: unknown) {
      last = err;
      await sleep(250);
    }
  }
  throw new Error(`soak: the sink could not get port ${port} back: ${String(last)}`, { cause: last });
}

function medianIn(series: readonly (readonly [number, number])[], from: number, to: number): number {
  return median(series.filter(([t]) => t >= from && t <= to).map(([, v]) => v));
}

/** Runs the soak suite; see the header. */
export async function runSoakSuite(options: SoakBenchOptions): Promise<SoakReport> {
  const o = checkSoakOptions(options);
  const log = o.log ?? ((): void => undefined);
  const startedAt = new Date();
  const loadAtStart = machineInfo().loadAtStart;
  const t0 = performance.now();
  const dir = await makeScratchDir('moat-soak-');
  const dumps = join(dir, 'dumps');
  await makeDirOwnedBy(dumps, process.getuid?.() === 0 ? 'nobody' : (process.env['USER'] ?? 'root'));
  const dumpFiles: string[] = [];
  const nextDump = (): string => {
    const f = join(dumps, `sink-${dumpFiles.length}.dump`);
    dumpFiles.push(f);
    return f;
  };
  let sink = await startCountingSink({ dumpFile: nextDump() });
  const port = sink.port;
  let countBefore = 0; // messages counted by the sinks that were stopped
  let sinkUp = true;
  const total = (): number => countBefore + (sinkUp ? sink.count() : 0);
  const offered = Math.round(o.ratePerSec * o.durationSec);
  const flaps: Flap[] = [];
  const acceptedIds = new Set<number>();
  const gw = await startMoatGateway({ sinkPort: port, dir, config: { queue: { retrySchedule: [`${o.retrySec}s`] }, ...o.moatConfig } });
  log(`Moat on 127.0.0.1:${gw.port}, sink on ${port}; ${offered} messages at ${o.ratePerSec}/s over ${o.durationSec} s, sink down ${o.downSec} s every ${o.flapEverySec} s`);
  const rss = startRssSampler(() => gw.roots(), o.sampleEverySec * 1000);
  let loadEnded = false;
  try {
    const loadStart = performance.now();
    const since = (): number => (performance.now() - loadStart) / 1000;
    const flapper = (async (): Promise<void> => {
      for (let k = 1; ; k++) {
        const wait = loadStart + k * o.flapEverySec * 1000 - performance.now();
        if (wait > 0) await sleep(wait);
        if (loadEnded || since() >= o.durationSec) return;
        const downAt = since();
        sinkUp = false;
        await sink.stop();
        // read once it has exited: a message it answered while stopping is counted too (read before
        // the stop, such a message was never counted and the drain waited for it until its bound)
        countBefore += sink.count();
        await sleep(o.downSec * 1000);
        sink = await restartSink(port, nextDump());
        sinkUp = true;
        flaps.push({ downAt, upAt: since() });
        log(`flap ${k}: sink down at ${downAt.toFixed(1)} s, up at ${since().toFixed(1)} s; ${acceptedIds.size} accepted, ${total()} delivered so far`);
      }
    })();
    const res = await runLoad({
      port: gw.port,
      sessions: o.sessions,
      messages: offered,
      bodySize: o.size,
      bodyFor: (i) => buildMessage({ from: SENDER, to: RECIPIENT, bodySize: o.size, id: idOf(i) }),
      ratePerSec: o.ratePerSec,
      onAccepted: (i) => acceptedIds.add(i),
      from: SENDER,
      to: RECIPIENT,
      timeoutMs: (o.durationSec + 300) * 1000,
      replyTimeoutMs: 120_000,
    });
    const loadSec = since();
    loadEnded = true;
    await flapper;
    log(`load done in ${loadSec.toFixed(1)} s: ${res.accepted} accepted, ${res.failed} failed, ${res.unsent} unsent (${res.cutOff} cut off in flight); draining`);
    // drain: every accepted message must reach the (running) sink within the bound
    // (the sinks' counters; every 5 s, while they are short, the dumps, which are what `lost` is
    // judged by: a counter update a stopped sink never printed must not hold the drain to its bound)
    const drainDeadline = performance.now() + o.drainTimeoutSec * 1000;
    const allInDumps = async (): Promise<boolean> => {
      const seen = await dumpCounts(dumpFiles);
      return [...acceptedIds].every((i) => seen.has(i));
    };
    let drained = total() >= res.accepted;
    for (let k = 1; !drained && performance.now() < drainDeadline; k++) {
      await sleep(200);
      drained = total() >= res.accepted || (k % 25 === 0 && (await allInDumps()));
    }
    const drainSec = drained ? since() - loadSec : Number.NaN;
    // a last look for stragglers (a duplicate or an unconfirmed one can make the count reach the target early)
    await sleep(Math.min(5000, o.retrySec * 1000 + 1000));
    const peak = rss.stop();
    sinkUp = false;
    await sink.stop();
    const seen = await dumpCounts(dumpFiles);
    const lostIds = [...acceptedIds].filter((i) => !seen.has(i)).sort((a, b) => a - b);
    let duplicates = 0;
    let unconfirmed = 0;
    for (const [i, n] of seen) {
      duplicates += n - 1;
      if (!acceptedIds.has(i)) unconfirmed++;
    }
    // the sampler started just before the load: its clock is the load's
    const series = peak.series.map(([t, b]) => [Math.round(t * 10) / 10, Math.round((b / 2 ** 20) * 10) / 10] as const);
    const d = o.durationSec;
    const { log: _log, ...recorded } = o;
    log(`delivered ${seen.size} distinct, lost ${lostIds.length}, duplicates ${duplicates}, drain ${drainSec.toFixed(1)} s`);
    return {
      suite: 'soak',
      startedAt: startedAt.toISOString(),
      durationSec: (performance.now() - t0) / 1000,
      machine: { ...machineInfo(), ...(loadAtStart === undefined ? {} : { loadAtStart }) },
      options: recorded,
      offered,
      accepted: res.accepted,
      failed: res.failed,
      unsent: res.unsent,
      cutOff: res.cutOff,
      errors: res.errors,
      delivered: [...acceptedIds].filter((i) => seen.has(i)).length,
      lost: lostIds.length,
      lostIds: lostIds.slice(0, 20),
      duplicates,
      deliveredUnconfirmed: unconfirmed,
      flaps,
      drainSec,
      loadSec,
      achievedPerSec: res.accepted / loadSec,
      p50Ms: percentile(res.latenciesMs, 50),
      p99Ms: percentile(res.latenciesMs, 99),
      rss: {
        series,
        earlyMiB: medianIn(series, d / 5, (2 * d) / 5),
        lateMiB: medianIn(series, (4 * d) / 5, d),
        peakMiB: peak.peakBytes / 2 ** 20,
        peakPssMiB: peak.peakPssBytes / 2 ** 20,
      },
    };
  } finally {
    rss.stop();
    await gw.stop();
    if (sinkUp) await sink.stop();
  }
}
