// The connections benchmark: how much a gateway pays for many open sessions, and whether a real
// client is still served while they are open and a swarm of slow clients trickles bytes.
// For each repeat and each system (a fresh gateway and sink each time, systems in turn):
//  1. start the gateway with its connection limits raised above the load (Moat:
//     limits.maxConnections/maxConnectionsPerIp; Postfix: default_process_limit, one smtpd per
//     session; Haraka's core has no connection limit), send one legitimate message (so the
//     processes exist) and read the baseline RSS/PSS of its process tree;
//  2. open `idleSessions` sessions (EHLO answered, then silent), wait a second, read RSS/PSS
//     again: memory per session = (idle - baseline) / sessions opened;
//  3. start `slowClients` clients trickling a command line one byte per second for `slowSeconds`,
//     and meanwhile run `legitSessions` legitimate transactions one after another, evenly spread,
//     timing each from connect to its end-of-data 250; then wait until the sink has them all.
// File descriptors: the bench holds every client socket and the gateways inherit its limits;
// RLIMIT_NOFILE is raised (lib/fd-limit.ts) to fit the load, and the run fails if it cannot be.
// Trusts: proc-stats.ts for memory. Fails: rejects when the fd limit is too low, a gateway fails
// to start or the sink does not get the legitimate messages in time; the clients' failures are
// figures (opened vs asked, legitimate successes), not errors. Everything is stopped by PID.
import { setTimeout as sleep } from 'node:timers/promises';
import { startCountingSink } from '../lib/counting-sink.js';
import { raiseFdLimit } from '../lib/fd-limit.js';
import type { FdLimit } from '../lib/fd-limit.js';
import { harakaForSuite } from '../lib/haraka-install.js';
import { machineInfo } from '../lib/machine.js';
import type { MachineInfo } from '../lib/machine.js';
import { treePss, treeRss } from '../lib/proc-stats.js';
import { median, percentile } from '../lib/stats.js';
import { RECIPIENT, SENDER } from '../relay/gateway.js';
import type { GatewayUnderTest, SystemName } from '../relay/gateway.js';
import { startHarakaGateway } from '../relay/haraka-gateway.js';
import { startMoatGateway } from '../relay/moat-gateway.js';
import { startPostfixGateway } from '../relay/postfix-gateway.js';
import { checkConnectionsOptions } from './options.js';
import type { ConnectionsBenchOptions } from './options.js';
import { legitSession, openIdleSessions, startSlowClients } from './swarm.js';

export interface Memory {
  readonly rssBytes: number;
  readonly pssBytes: number;
  readonly processes: number;
}

export interface ConnectionsRun {
  readonly system: SystemName;
  readonly repeat: number;
  readonly asked: number;
  readonly opened: number;
  readonly failed: number;
  readonly openErrors: readonly string[];
  readonly openSec: number;
  readonly baseline: Memory;
  readonly idle: Memory;
  readonly rssPerSessionKiB: number;
  readonly pssPerSessionKiB: number;
  readonly legitOk: number;
  readonly legitErrors: readonly string[];
  readonly legitMs: readonly number[];
  readonly legitP50Ms: number;
  readonly legitMaxMs: number;
  readonly slowConnected: number;
  readonly slowCutOff: number;
  readonly idleClosedByServer: number;
}

export interface ConnectionsReport {
  readonly suite: 'connections';
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: MachineInfo;
  readonly command?: string;
  readonly options: Omit<ConnectionsBenchOptions, 'log'>;
  readonly fdLimit: FdLimit & { readonly raised: boolean };
  readonly systems: readonly SystemName[];
  readonly skipped: readonly { readonly system: SystemName; readonly reason: string }[];
  readonly runs: readonly ConnectionsRun[];
}

function memory(g: GatewayUnderTest): Memory {
  const roots = g.roots();
  const r = treeRss(roots);
  return { rssBytes: r.bytes, pssBytes: treePss(roots), processes: r.processes };
}

function startGateway(name: SystemName, o: ConnectionsBenchOptions, sinkPort: number, harakaBin: string | undefined): Promise<GatewayUnderTest> {
  // headroom for the legitimate sessions and the sessions still closing from the warm-up
  const limit = o.idleSessions + o.slowClients + 100;
  switch (name) {
    case 'moat':
      return startMoatGateway({ sinkPort, config: { limits: { maxConnections: limit, maxConnectionsPerIp: limit, maxConnectionsPerNet: limit } } });
    case 'postfix':
      return startPostfixGateway({ sinkPort, processLimit: limit });
    case 'haraka':
      if (harakaBin === undefined) throw new Error('haraka: not installed');
      return startHarakaGateway({ bin: harakaBin, sinkPort });
  }
}

async function measureOne(name: SystemName, repeat: number, o: ConnectionsBenchOptions, harakaBin: string | undefined): Promise<ConnectionsRun> {
  const log = o.log ?? ((): void => undefined);
  const sink = await startCountingSink();
  let gateway: GatewayUnderTest | undefined;
  let idle: Awaited<ReturnType<typeof openIdleSessions>> | undefined;
  let slow: ReturnType<typeof startSlowClients> | undefined;
  try {
    gateway = await startGateway(name, o, sink.port, harakaBin);
    const port = gateway.port;
    const legit = (): Promise<number> => legitSession({ port, from: SENDER, to: RECIPIENT, timeoutMs: o.timeoutMs });
    await legit();
    await sink.whenCount(1, o.timeoutMs);
    await sleep(1000);
    const baseline = memory(gateway);

    idle = await openIdleSessions({ port, count: o.idleSessions, inFlight: o.openInFlight, timeoutMs: o.timeoutMs });
    await sleep(1000);
    const idleMem = memory(gateway);
    log(`${name} #${repeat}: ${idle.opened}/${o.idleSessions} idle sessions in ${idle.openSec.toFixed(1)} s, ${idleMem.processes} processes`);

    slow = startSlowClients({ port, count: o.slowClients, seconds: o.slowSeconds });
    const legitMs: number[] = [];
    const legitErrors: string[] = [];
    const spacing = (o.slowSeconds * 1000) / (o.legitSessions + 1);
    for (let i = 0; i < o.legitSessions; i++) {
      await sleep(spacing);
      try {
        legitMs.push(await legit());
      } catch (err: unknown) {
        if (legitErrors.length < 10) legitErrors.push(err instanceof Error ? err.message : String(err));
      }
    }
    await slow.done;
    await sink.whenCount(1 + legitMs.length, o.timeoutMs);
    const opened = Math.max(1, idle.opened);
    return {
      system: name,
      repeat,
      asked: o.idleSessions,
      opened: idle.opened,
      failed: idle.failed,
      openErrors: idle.errors,
      openSec: idle.openSec,
      baseline,
      idle: idleMem,
      rssPerSessionKiB: (idleMem.rssBytes - baseline.rssBytes) / opened / 1024,
      pssPerSessionKiB: (idleMem.pssBytes - baseline.pssBytes) / opened / 1024,
      legitOk: legitMs.length,
      legitErrors,
      legitMs,
      legitP50Ms: percentile(legitMs, 50),
      legitMaxMs: percentile(legitMs, 100),
      slowConnected: slow.connected(),
      slowCutOff: slow.cutOff(),
      idleClosedByServer: idle.closedByServer(),
    };
  } finally {
    slow?.close();
    idle?.close();
    await gateway?.stop();
    await sink.stop();
  }
}

/** Runs the connections suite; see the header. */
export async function runConnectionsSuite(options: ConnectionsBenchOptions): Promise<ConnectionsReport> {
  const o = checkConnectionsOptions(options);
  const log = o.log ?? ((): void => undefined);
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAtStart = machineInfo().loadAtStart;
  // our sockets + the gateway's (same limit, inherited) + spare for files, pipes, the sink
  const need = 2 * (o.idleSessions + o.slowClients) + 1024;
  const fd = await raiseFdLimit(need);
  if (fd.soft < need) throw new Error(`connections bench: needs ${need} open files, RLIMIT_NOFILE is ${fd.soft} (hard ${fd.hard}); raise it (ulimit -n) or run as root`);
  if (fd.raised) log(`raised RLIMIT_NOFILE to ${fd.soft} (gateways started from here inherit it)`);
  const { bin: harakaBin, version: harakaVersion, skipped } = await harakaForSuite(o.systems, log);
  const systems = o.systems.filter((s) => !skipped.some((k) => k.system === s));
  const runs: ConnectionsRun[] = [];
  for (let repeat = 1; repeat <= o.repeats; repeat++) {
    for (const name of systems) {
      const r = await measureOne(name, repeat, o, harakaBin);
      runs.push(r);
      log(
        `${name} #${repeat}: ${r.pssPerSessionKiB.toFixed(1)} KiB PSS/session, ${r.rssPerSessionKiB.toFixed(1)} KiB RSS/session, ` +
          `legit ${r.legitOk}/${o.legitSessions} ok, median ${median(r.legitMs).toFixed(0)} ms; slow clients cut off ${r.slowCutOff}/${r.slowConnected}`,
      );
    }
  }
  const { log: _log, ...recorded } = o;
  return {
    suite: 'connections',
    startedAt: startedAt.toISOString(),
    durationSec: (performance.now() - t0) / 1000,
    machine: { ...machineInfo(harakaVersion === undefined ? {} : { haraka: harakaVersion }), ...(loadAtStart === undefined ? {} : { loadAtStart }) },
    options: recorded,
    fdLimit: fd,
    systems,
    skipped,
    runs,
  };
}
