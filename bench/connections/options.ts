// Options of the connections benchmark, its full and --quick presets, their command line (the
// shared parser of bench/lib/options.ts) and their validation.
// Every figure in README.md is defined for these knobs; defaults live only here.
import { checks, int, parseFlags, stderrLog } from '../lib/options.js';
import { SYSTEM_NAMES } from '../relay/gateway.js';
import { systemsOr } from '../relay/options.js';
import type { SystemName } from '../relay/gateway.js';

export interface ConnectionsBenchOptions {
  readonly systems: readonly SystemName[];
  /** Idle sessions held open at once (each has said EHLO and got its 250). */
  readonly idleSessions: number;
  /** Idle sessions being set up at once (bounds the SYN burst). */
  readonly openInFlight: number;
  /** Slow clients trickling one byte per second alongside the idle sessions. */
  readonly slowClients: number;
  /** How long the slow clients trickle (and the legitimate sessions run). */
  readonly slowSeconds: number;
  /** Legitimate transactions run one after another while idle and slow sessions are open. */
  readonly legitSessions: number;
  /** Repeats per system (a fresh gateway each time); figures are medians over them. */
  readonly repeats: number;
  /** Bound on opening the idle sessions and on each wait. */
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
}

export const CONNECTIONS_FULL_PRESET: ConnectionsBenchOptions = {
  systems: SYSTEM_NAMES,
  idleSessions: 5000,
  openInFlight: 100,
  slowClients: 200,
  slowSeconds: 20,
  legitSessions: 10,
  repeats: 3,
  timeoutMs: 420_000,
};

/** A few hundred sessions and a short trickle: well under a minute for three systems. */
export const CONNECTIONS_QUICK_PRESET: ConnectionsBenchOptions = {
  systems: SYSTEM_NAMES,
  idleSessions: 300,
  openInFlight: 50,
  slowClients: 20,
  slowSeconds: 3,
  legitSessions: 3,
  repeats: 1,
  timeoutMs: 60_000,
};

/** Throws naming the first bad option. */
export function checkConnectionsOptions(o: ConnectionsBenchOptions): ConnectionsBenchOptions {
  const c = checks('connections');
  c.nonEmpty('systems', o.systems);
  c.oneOf('system', o.systems, SYSTEM_NAMES, false);
  // bounded: 20000 idle sessions means 40000 sockets on this machine
  c.int('idleSessions', o.idleSessions, 1, 20_000);
  c.int('openInFlight', o.openInFlight, 1, 1000);
  c.int('slowClients', o.slowClients, 0, 2000);
  c.int('slowSeconds', o.slowSeconds, 1, 600);
  c.int('legitSessions', o.legitSessions, 1, 1000);
  c.int('repeats', o.repeats, 1, 100);
  c.int('timeoutMs', o.timeoutMs, 1000, 3_600_000);
  return o;
}

/** The connections options from the command line (preset first, then each flag). */
export function connectionsOptionsFromArgs(argv: readonly string[]): { options: ConnectionsBenchOptions; out: string | undefined } {
  const values = parseFlags(argv, { idle: 'string', slow: 'string', 'slow-seconds': 'string', legit: 'string', repeats: 'string', 'in-flight': 'string', systems: 'string' });
  const base = values.quick ? CONNECTIONS_QUICK_PRESET : CONNECTIONS_FULL_PRESET;
  const options: ConnectionsBenchOptions = {
    ...base,
    systems: systemsOr(values.systems, base.systems),
    idleSessions: int(values.idle) ?? base.idleSessions,
    slowClients: int(values.slow) ?? base.slowClients,
    slowSeconds: int(values['slow-seconds']) ?? base.slowSeconds,
    legitSessions: int(values.legit) ?? base.legitSessions,
    repeats: int(values.repeats) ?? base.repeats,
    openInFlight: int(values['in-flight']) ?? base.openInFlight,
    log: stderrLog,
  };
  return { options, out: values.out };
}
