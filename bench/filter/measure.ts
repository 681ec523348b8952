// One measured filter run: one system, one point (mix, sessions), one repeat. The bench's load
// client (lib/smtp-load.ts) sends `messages` messages of the mix in turn over `sessions` concurrent
// connections (a new connection per message, as mail from the internet comes), timing every
// end-of-data reply; a 5xx there is a verdict (spam or virus refused), a 4xx or an error a failure,
// and a message the run's time bound left without an outcome is unsent (not a failure). Then the
// run waits until the sink has every accepted message. CPU of the system's trees is read before
// and 300 ms after the last delivery; RSS is sampled every 100 ms (PSS every 500 ms).
// Trusts: the sink's count only grows by what this run sent (one sink per system, runs in
// sequence). Fails: rejects when accepted mail does not reach the sink within the run's bound
// (lost mail is never a figure); failed and unsent messages are recorded, not thrown.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountingSink } from '../lib/counting-sink.js';
import { treeCpuSeconds } from '../lib/proc-stats.js';
import { startRssSampler } from '../lib/rss-sampler.js';
import { runLoad } from '../lib/smtp-load.js';
import type { LoadResult } from '../lib/smtp-load.js';
import { percentile } from '../lib/stats.js';
import { RECIPIENT } from '../relay/gateway.js';
import { ENVELOPE_SENDER } from './mix.js';
import type { Mix, MixName } from './mix.js';
import type { FilterSystem } from './options.js';
import type { FilterGateway } from './systems.js';
import { CLIENT_NAME } from './zone.js';

export interface FilterPoint {
  readonly mix: MixName;
  readonly sessions: number;
}

export interface FilterRun extends FilterPoint {
  readonly system: FilterSystem;
  readonly repeat: number;
  readonly messages: number;
  /** End-of-data 2xx. */
  readonly accepted: number;
  /** End-of-data 5xx (spam or virus refused). */
  readonly rejected: number;
  /** An SMTP error reply other than a 5xx verdict (4xx), a connection error or a reply timeout. */
  readonly failed: number;
  /**
   * Messages the run's time bound left without an outcome: never started, or in flight when it
   * destroyed their connections (those are `cutOff` too). messages = accepted + rejected + failed + unsent.
   */
  readonly unsent: number;
  readonly cutOff: number;
  readonly errors: readonly string[];
  readonly delivered: number;
  /** The load client's wall time. */
  readonly loadSec: number;
  /** From the load's start until the sink counted the last accepted message. */
  readonly elapsedSec: number;
  readonly acceptedPerSec: number;
  readonly deliveredPerSec: number;
  /** Verdict latency over every end-of-data reply (2xx and 5xx). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuSec: number;
  readonly cpuMsPerMessage: number;
  readonly peakRssBytes: number;
  readonly peakPssBytes: number;
  readonly processesAtPeak: number;
  readonly rssSeries: readonly (readonly [number, number])[];
}

export interface FilterRunContext {
  readonly gateway: FilterGateway;
  readonly sink: CountingSink;
  readonly timeoutMs: number;
}

/** The load client's counts (failed apart from what its time bound left unsent), and the sink's. */
interface Sent extends Pick<LoadResult, 'accepted' | 'rejected' | 'failed' | 'unsent' | 'cutOff' | 'errors'> {
  /** Every end-of-data reply's latency, 2xx and 5xx. */
  readonly latencies: readonly number[];
  readonly loadSec: number;
  readonly elapsedSec: number;
  readonly delivered: number;
}

/** Sends `messages` of the mix and waits for the sink; also the warm-up. */
export async function sendMix(ctx: FilterRunContext, mix: Mix, sessions: number, messages: number): Promise<Sent> {
  const base = ctx.sink.count();
  const t0 = performance.now();
  const res = await runLoad({
    port: ctx.gateway.port,
    sessions,
    messages,
    bodySize: 0,
    bodies: mix.messages,
    countRejects: true,
    from: ENVELOPE_SENDER,
    to: RECIPIENT,
    heloName: CLIENT_NAME,
    timeoutMs: ctx.timeoutMs,
    replyTimeoutMs: 120_000,
  });
  const loadSec = (performance.now() - t0) / 1000;
  await ctx.sink.whenCount(base + res.accepted, ctx.timeoutMs);
  const delivered = ctx.sink.count() - base;
  const t1 = res.accepted === 0 ? performance.now() : ctx.sink.lastCountAt();
  return {
    accepted: res.accepted,
    rejected: res.rejected,
    failed: res.failed,
    unsent: res.unsent,
    cutOff: res.cutOff,
    errors: res.errors,
    latencies: [...res.latenciesMs, ...res.rejectedLatenciesMs],
    loadSec,
    elapsedSec: (t1 - t0) / 1000,
    delivered,
  };
}

export async function measureFilterRun(ctx: FilterRunContext, mix: Mix, point: FilterPoint, messages: number, repeat: number): Promise<FilterRun> {
  const cpu0 = treeCpuSeconds(ctx.gateway.roots());
  const rss = startRssSampler(() => ctx.gateway.roots());
  let sent: Sent;
  try {
    sent = await sendMix(ctx, mix, point.sessions, messages);
  } finally {
    rss.stop();
  }
  const peak = rss.stop();
  await sleep(300);
  const cpuSec = treeCpuSeconds(ctx.gateway.roots()) - cpu0;
  return {
    ...point,
    system: ctx.gateway.name,
    repeat,
    messages,
    accepted: sent.accepted,
    rejected: sent.rejected,
    failed: sent.failed,
    unsent: sent.unsent,
    cutOff: sent.cutOff,
    errors: sent.errors,
    delivered: sent.delivered,
    loadSec: sent.loadSec,
    elapsedSec: sent.elapsedSec,
    acceptedPerSec: sent.accepted / sent.loadSec,
    deliveredPerSec: sent.delivered / sent.elapsedSec,
    p50Ms: percentile(sent.latencies, 50),
    p99Ms: percentile(sent.latencies, 99),
    cpuSec,
    cpuMsPerMessage: (cpuSec * 1000) / messages,
    peakRssBytes: peak.peakBytes,
    peakPssBytes: peak.peakPssBytes,
    processesAtPeak: peak.processesAtPeak,
    rssSeries: peak.series.filter((_, i) => i % 5 === 0).map(([t, b]) => [Math.round(t * 10) / 10, Math.round((b / 2 ** 20) * 10) / 10] as const),
  };
}
