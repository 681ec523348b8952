// The filter benchmark: the relay suite's path (load → gateway → smtp-sink) with full filtering,
// for Moat and the two setups users run today, Postfix + SpamAssassin and Postfix + Rspamd
// (systems.ts). One dnsmasq (zone.ts) and one clamd serve all of them; each system has its own
// counting sink and one long-lived gateway for the whole suite. After unrecorded warm-up messages
// (every point, each system), the runs go: for each repeat, for each point (mix × sessions), each
// system in turn (A B C A B C ...), so a drift of the machine hits all alike.
// Postfix needs root; without it (or without the milter packages for Postfix + SpamAssassin) the
// suite says why, records it under `skipped` and goes on with the others.
// Trusts: measure.ts for one run. Fails: the first failed run rejects the suite; every process is
// stopped (by PID, through the harness), newest first.
import { startClamd, startDnsmasq } from '../../test/harness/index.js';
import { startCountingSink } from '../lib/counting-sink.js';
import type { CountingSink } from '../lib/counting-sink.js';
import { ensureDebianPackages } from '../lib/debian-packages.js';
import { machineInfo } from '../lib/machine.js';
import type { MachineInfo } from '../lib/machine.js';
import { canRunPostfix } from '../relay/postfix-gateway.js';
import { measureFilterRun, sendMix } from './measure.js';
import type { FilterPoint, FilterRun } from './measure.js';
import { corpusMix, syntheticMix } from './mix.js';
import type { Mix, MixName } from './mix.js';
import { checkFilterOptions } from './options.js';
import type { FilterBenchOptions, FilterSystem } from './options.js';
import { detectMoatChecks, SETUPS, startFilterGateway } from './systems.js';
import type { FilterGateway, MoatChecks, SetupDescription } from './systems.js';
import { summarizeFilter } from './summary.js';
import type { FilterPointSummary } from './summary.js';
import { filterZone, makeSenderKeys } from './zone.js';

export interface MixDescription {
  readonly name: MixName;
  readonly messages: number;
  readonly viruses: number;
  readonly meanOctets: number;
  readonly groups: Readonly<Record<string, number>>;
}

export interface FilterReport {
  readonly suite: 'filter';
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: MachineInfo;
  readonly command?: string;
  readonly options: Omit<FilterBenchOptions, 'log'>;
  readonly systems: readonly FilterSystem[];
  readonly skipped: readonly { readonly system: FilterSystem; readonly reason: string }[];
  /** Moat's optional content checks: enabled, not in this checkout, or refused by its config check. */
  readonly moatChecks: MoatChecks;
  readonly setups: Readonly<Partial<Record<FilterSystem, SetupDescription>>>;
  readonly mixes: readonly MixDescription[];
  readonly runs: readonly FilterRun[];
  readonly summary: readonly FilterPointSummary[];
}

interface Contestant {
  readonly gateway: FilterGateway;
  readonly sink: CountingSink;
}

async function skippedSystems(o: FilterBenchOptions, log: (l: string) => void): Promise<{ system: FilterSystem; reason: string }[]> {
  const out: { system: FilterSystem; reason: string }[] = [];
  for (const s of o.systems.filter((x) => x !== 'moat')) {
    if (!canRunPostfix()) out.push({ system: s, reason: 'Postfix needs root (its master must be started by root)' });
  }
  if (o.systems.includes('postfix-sa') && !out.some((x) => x.system === 'postfix-sa')) {
    const r = await ensureDebianPackages(
      [
        { pkg: 'clamav-milter', file: '/usr/sbin/clamav-milter' },
        { pkg: 'spamass-milter', file: '/usr/sbin/spamass-milter' },
      ],
      log,
    );
    if (!r.ok) out.push({ system: 'postfix-sa', reason: r.reason });
  }
  for (const s of out) log(`${s.system} skipped: ${s.reason}`);
  return out;
}

function pointsOf(o: FilterBenchOptions): FilterPoint[] {
  return o.mixes.flatMap((mix) => o.sessions.map((sessions) => ({ mix, sessions })));
}

/** Runs the filter suite; see the header. */
export async function runFilterSuite(options: FilterBenchOptions): Promise<FilterReport> {
  const o = checkFilterOptions(options);
  const log = o.log ?? ((): void => undefined);
  const startedAt = new Date();
  const loadAtStart = machineInfo().loadAtStart;
  const t0 = performance.now();
  const skipped = await skippedSystems(o, log);
  const systems = o.systems.filter((s) => !skipped.some((k) => k.system === s));
  const keys = makeSenderKeys();
  const mixes = new Map<MixName, Mix>();
  if (o.mixes.includes('synthetic')) mixes.set('synthetic', await syntheticMix({ count: o.syntheticCount, size: o.syntheticSize, virusEvery: o.virusEvery, keys }));
  if (o.mixes.includes('corpus')) mixes.set('corpus', await corpusMix({ count: o.corpusCount, maxCorpusSize: o.maxCorpusSize, virusEvery: o.virusEvery, log }));
  const mixOf = (name: MixName): Mix => {
    const m = mixes.get(name);
    if (m === undefined) throw new Error(`filter bench: mix ${name} not built`);
    return m;
  };
  const points = pointsOf(o);
  const contestants: Contestant[] = [];
  const runs: FilterRun[] = [];
  const dns = await startDnsmasq(filterZone(keys));
  const clamd = await startClamd();
  let moatChecks: MoatChecks = { enabled: [], absent: [], refused: [] };
  try {
    if (systems.includes('moat')) {
      moatChecks = await detectMoatChecks(dns.server, clamd.address);
      log(`Moat's optional checks: enabled ${moatChecks.enabled.join(', ') || 'none'}; not in this version: ${moatChecks.absent.join(', ') || 'none'}`);
      for (const c of moatChecks.refused) log(`Moat's ${c.name} check is in the schema but refused with only enabled: true: ${c.reason}`);
    }
    for (const name of systems) {
      const sink = await startCountingSink();
      try {
        const gateway = await startFilterGateway(name, sink.port, { dns, clamd }, { moatChecks: moatChecks.enabled, moatSpamassassin: o.moatSpamassassin, ...(o.moatConfig !== undefined ? { moatConfig: o.moatConfig } : {}) });
        contestants.push({ gateway, sink });
        log(`started ${name} on 127.0.0.1:${gateway.port}`);
      } catch (err: unknown) {
        await sink.stop();
        throw err;
      }
    }
    const ctx = (c: Contestant): { gateway: FilterGateway; sink: CountingSink; timeoutMs: number } => ({ gateway: c.gateway, sink: c.sink, timeoutMs: o.runTimeoutMs });
    if (o.warmupMessages > 0) {
      const each = Math.max(10, Math.ceil(o.warmupMessages / points.length));
      for (const c of contestants) {
        for (const p of points) await sendMix(ctx(c), mixOf(p.mix), p.sessions, each);
        log(`warmed up ${c.gateway.name} with ${each} messages at each of ${points.length} point(s)`);
      }
    }
    for (let repeat = 1; repeat <= o.repeats; repeat++) {
      for (const p of points) {
        for (const c of contestants) {
          const r = await measureFilterRun(ctx(c), mixOf(p.mix), p, o.messages, repeat);
          runs.push(r);
          log(
            `#${repeat} ${c.gateway.name} ${p.mix} x${p.sessions}: ${r.accepted} accepted, ${r.rejected} rejected, ${r.failed} failed, ${r.unsent} unsent (${r.cutOff} cut off); ` +
              `${r.acceptedPerSec.toFixed(1)} accepted/${r.deliveredPerSec.toFixed(1)} delivered msg/s, p50 ${r.p50Ms.toFixed(0)} ms p99 ${r.p99Ms.toFixed(0)} ms, ` +
              `${r.cpuMsPerMessage.toFixed(1)} CPU ms/msg, ${(r.peakPssBytes / 2 ** 20).toFixed(0)} MiB PSS${r.errors.length > 0 ? `; errors: ${r.errors.slice(0, 3).join('; ')}` : ''}`,
          );
        }
      }
    }
  } finally {
    for (const c of [...contestants].reverse()) {
      await c.gateway.stop();
      await c.sink.stop();
    }
    await clamd.stop();
    await dns.stop();
  }
  const { log: _log, ...recorded } = o;
  return {
    suite: 'filter',
    startedAt: startedAt.toISOString(),
    durationSec: (performance.now() - t0) / 1000,
    machine: { ...machineInfo(), ...(loadAtStart === undefined ? {} : { loadAtStart }) },
    options: recorded,
    systems,
    skipped,
    moatChecks,
    setups: Object.fromEntries(systems.map((s) => [s, SETUPS[s](moatChecks.enabled, o.moatSpamassassin)])),
    mixes: [...mixes.values()].map((m) => ({ name: m.name, messages: m.messages.length, viruses: m.viruses.length, meanOctets: m.meanOctets, groups: m.groups })),
    runs,
    summary: summarizeFilter(runs, points, systems),
  };
}
