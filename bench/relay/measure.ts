// One measured run: one system, one point (size, sessions, connection mode), one repeat.
//  1. throughput run: smtp-source -s SESSIONS -m MESSAGES -l SIZE (plus -d when connections are
//     reused) into the gateway. Accepted msgs/s: the end-of-data 250s that smtp-source counted
//     (-c), over smtp-source's wall time. Delivered msgs/s: the clock runs
//     from just before smtp-source starts until the sink has counted every message. CPU of the
//     gateway's process trees is read before and after (plus a short settle for the queue's
//     clean-up); RSS is sampled every 100 ms during the run, PSS every 500 ms.
//  2. latency sub-run (if latencyMessages > 0): the bench's own Node client (lib/smtp-load.ts)
//     with the same concurrency, size and connection mode records each message's end-of-data latency; then the
//     run waits until the sink has those messages too, so the next run starts on an empty queue.
// Trusts: the sink's count only grows by what this run sent (one sink per gateway, runs are
// sequential). Fails: rejects when smtp-source exits non-zero, when delivery does not complete
// within runTimeoutMs, or when the latency client loses messages.
import { setTimeout as sleep } from 'node:timers/promises';
import { runSmtpSource } from '../../test/harness/index.js';
import type { CountingSink } from '../lib/counting-sink.js';
import { treeCpuSeconds } from '../lib/proc-stats.js';
import { startRssSampler } from '../lib/rss-sampler.js';
import { runLoad } from '../lib/smtp-load.js';
import { percentile } from '../lib/stats.js';
import { RECIPIENT, SENDER } from './gateway.js';
import type { ConnectionMode, GatewayUnderTest, SystemName } from './gateway.js';

export interface Point {
  readonly size: number;
  readonly sessions: number;
  readonly mode: ConnectionMode;
}

export interface LatencyFigures {
  readonly messages: number;
  readonly accepted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Delivered msgs/s of the latency sub-run (client plus delivery), for comparison only. */
  readonly deliveredPerSec: number;
}

export interface RunFigures {
  readonly system: SystemName;
  readonly size: number;
  readonly sessions: number;
  readonly mode: ConnectionMode;
  readonly repeat: number;
  readonly messages: number;
  /** End-of-data replies smtp-source counted (-c): the gateway's 250s. */
  readonly accepted: number;
  /** accepted / acceptSec. */
  readonly acceptedPerSec: number;
  /** Messages the sink counted during the throughput run (all of them, or the run fails). */
  readonly delivered: number;
  readonly elapsedSec: number;
  /** smtp-source's own wall time: until the gateway had accepted the last message. */
  readonly acceptSec: number;
  readonly deliveredPerSec: number;
  readonly cpuSec: number;
  readonly cpuMsPerMessage: number;
  readonly peakRssBytes: number;
  readonly processesAtPeak: number;
  readonly peakPssBytes: number;
  /** RSS of the trees during the throughput run: [seconds since its start, MiB], every 100 ms. */
  readonly rssSeries: readonly (readonly [number, number])[];
  readonly latency: LatencyFigures | undefined;
}

export interface RunContext {
  readonly gateway: GatewayUnderTest;
  readonly sink: CountingSink;
  readonly messages: number;
  readonly latencyMessages: number;
  readonly timeoutMs: number;
}

export interface SentFigures {
  readonly elapsedSec: number;
  readonly acceptSec: number;
  readonly accepted: number;
  readonly delivered: number;
}

/** The last value of smtp-source's -c counter ("1\r2\r...N\r\n"): DATA commands that completed. */
export function smtpSourceCount(stdout: string): number {
  const counts = stdout.split(/[\r\n]+/).filter((s) => /^\d+$/.test(s.trim()));
  return Number(counts.at(-1) ?? 0);
}

/** Sends `messages` with smtp-source and waits until the sink has them all; returns the seconds taken. */
export async function sendWithSmtpSource(ctx: RunContext, point: Point, messages: number): Promise<SentFigures> {
  const base = ctx.sink.count();
  const target = base + messages;
  const delivered = ctx.sink.whenCount(target, ctx.timeoutMs);
  // a rejection before we await it must not become an unhandled rejection
  delivered.catch(() => undefined);
  const t0 = performance.now();
  const src = await runSmtpSource({
    port: ctx.gateway.port,
    sessions: point.sessions,
    messages,
    size: point.size,
    reuseConnection: point.mode === 'reuse',
    counter: true,
    from: SENDER,
    to: RECIPIENT,
    heloName: 'client.test',
    timeoutMs: ctx.timeoutMs,
  });
  if (src.code !== 0) {
    throw new Error(`smtp-source against ${ctx.gateway.name} exited ${String(src.code)}: ${src.stdout.slice(-500)} ${src.stderr.slice(-1500)}`);
  }
  const t1 = await delivered;
  return { elapsedSec: (t1 - t0) / 1000, acceptSec: src.elapsedMs / 1000, accepted: smtpSourceCount(src.stdout), delivered: ctx.sink.count() - base };
}

async function latencySubRun(ctx: RunContext, point: Point): Promise<LatencyFigures> {
  const base = ctx.sink.count();
  const t0 = performance.now();
  const res = await runLoad({
    port: ctx.gateway.port,
    sessions: point.sessions,
    messages: ctx.latencyMessages,
    bodySize: point.size,
    reuse: point.mode === 'reuse',
    from: SENDER,
    to: RECIPIENT,
    timeoutMs: ctx.timeoutMs,
  });
  if (res.failed > 0 || res.timedOut) {
    throw new Error(`latency client against ${ctx.gateway.name}: ${res.failed} failed${res.timedOut ? ', timed out' : ''}: ${res.errors.join('; ')}`);
  }
  const t1 = await ctx.sink.whenCount(base + res.accepted, ctx.timeoutMs);
  return {
    messages: ctx.latencyMessages,
    accepted: res.accepted,
    p50Ms: percentile(res.latenciesMs, 50),
    p99Ms: percentile(res.latenciesMs, 99),
    maxMs: percentile(res.latenciesMs, 100),
    deliveredPerSec: res.accepted / ((t1 - t0) / 1000),
  };
}

/** Measures one run; see the header. */
export async function measureRun(ctx: RunContext, point: Point, repeat: number): Promise<RunFigures> {
  const cpu0 = treeCpuSeconds(ctx.gateway.roots());
  const rss = startRssSampler(() => ctx.gateway.roots());
  let sent: SentFigures;
  try {
    sent = await sendWithSmtpSource(ctx, point, ctx.messages);
  } finally {
    rss.stop();
  }
  const peak = rss.stop();
  // let the gateway finish its bookkeeping for the last deliveries (queue file removal, logs)
  await sleep(300);
  const cpuSec = treeCpuSeconds(ctx.gateway.roots()) - cpu0;
  const latency = ctx.latencyMessages > 0 ? await latencySubRun(ctx, point) : undefined;
  return {
    system: ctx.gateway.name,
    size: point.size,
    sessions: point.sessions,
    mode: point.mode,
    repeat,
    messages: ctx.messages,
    accepted: sent.accepted,
    acceptedPerSec: sent.accepted / sent.acceptSec,
    delivered: sent.delivered,
    elapsedSec: sent.elapsedSec,
    acceptSec: sent.acceptSec,
    deliveredPerSec: ctx.messages / sent.elapsedSec,
    cpuSec,
    cpuMsPerMessage: (cpuSec * 1000) / ctx.messages,
    peakRssBytes: peak.peakBytes,
    processesAtPeak: peak.processesAtPeak,
    peakPssBytes: peak.peakPssBytes,
    rssSeries: peak.series.map(([t, b]) => [Math.round(t * 100) / 100, Math.round((b / 2 ** 20) * 10) / 10] as const),
    latency,
  };
}
