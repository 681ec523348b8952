// Options of the connections benchmark, its full and --quick presets, and their validation.
// Every figure in README.md is defined for these knobs; defaults live only here.
import { SYSTEM_NAMES } from '../relay/gateway.js';
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
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`connections bench: ${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  if (o.systems.length === 0) throw new Error('connections bench: no systems');
  for (const s of o.systems) if (!SYSTEM_NAMES.includes(s)) throw new Error(`connections bench: unknown system ${s}`);
  // bounded: 20000 idle sessions means 40000 sockets on this machine
  int('idleSessions', o.idleSessions, 1, 20_000);
  int('openInFlight', o.openInFlight, 1, 1000);
  int('slowClients', o.slowClients, 0, 2000);
  int('slowSeconds', o.slowSeconds, 1, 600);
  int('legitSessions', o.legitSessions, 1, 1000);
  int('repeats', o.repeats, 1, 100);
  int('timeoutMs', o.timeoutMs, 1000, 3_600_000);
  return o;
}
