/**
 * Connection admission: who may open a session now. One table counts the open sessions in total,
 * per client IP and per client network (/24, /64), and the new connections per client IP in a fixed
 * window that starts at the client's first connection (as Postfix's anvil counts them). The table
 * is pure bookkeeping with an injected clock; it runs in the supervisor for the whole gateway (the
 * workers ask over IPC, src/cli/admission-ipc.ts) or in-process for a single worker (LocalGate).
 * Trusts: addresses are canonical (ip.ts). Fails: never throws; memory is bounded by the open
 * sessions plus at most `maxTrackedClients` rate windows (the oldest window is forgotten first).
 */
import { networkKey } from './ip.js';

export type LimitName = 'total' | 'per-ip' | 'per-net' | 'rate' | 'unavailable';

export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerNet: number;
  /** New connections per client IP per window; null: no rate limit. */
  readonly connectionRate: { readonly count: number; readonly perMs: number } | null;
}

export type Admission = { readonly ok: true; readonly slot: number } | { readonly ok: false; readonly limit: LimitName };

/** The port the listener asks; `release` exactly once per admitted slot. */
export interface ConnectionGate {
  admit(ip: string): Promise<Admission>;
  release(slot: number): void;
}

interface Window {
  start: number;
  count: number;
}

const MAX_TRACKED_CLIENTS = 100_000;

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

export class AdmissionTable {
  private readonly open = new Map<string, { ip: string; net: string }>();
  private readonly perIp = new Map<string, number>();
  private readonly perNet = new Map<string, number>();
  /** Insertion order is window start order: a window is re-inserted when it restarts. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limits: () => AdmissionLimits,
    private readonly now: () => number = Date.now,
    private readonly maxTrackedClients = MAX_TRACKED_CLIENTS,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Admits `ip` under `key` (unique per slot), or names the first limit it hits. */
  admit(key: string, ip: string): LimitName | null {
    const l = this.limits();
    const net = networkKey(ip);
    // Every attempt counts toward the rate, refused ones too: a client hammering us stays refused
    // until its window ends.
    const rateExceeded = this.countAttempt(ip, l.connectionRate);
    if (this.open.size >= l.maxConnections) return 'total';
    if ((this.perIp.get(ip) ?? 0) >= l.maxConnectionsPerIp) return 'per-ip';
    if ((this.perNet.get(net) ?? 0) >= l.maxConnectionsPerNet) return 'per-net';
    if (rateExceeded) return 'rate';
    this.open.set(key, { ip, net });
    bump(this.perIp, ip, 1);
    bump(this.perNet, net, 1);
    return null;
  }

  release(key: string): void {
    const s = this.open.get(key);
    if (!s) return;
    this.open.delete(key);
    bump(this.perIp, s.ip, -1);
    bump(this.perNet, s.net, -1);
  }

  /** Releases every slot whose key starts with `prefix` (a worker that died). */
  releaseAll(prefix: string): number {
    let n = 0;
    for (const key of [...this.open.keys()]) {
      if (!key.startsWith(prefix)) continue;
      this.release(key);
      n++;
    }
    return n;
  }

  private countAttempt(ip: string, rate: AdmissionLimits['connectionRate']): boolean {
    if (!rate) return false;
    const t = this.now();
    this.expire(t, rate.perMs);
    let w = this.windows.get(ip);
    if (!w || t - w.start >= rate.perMs) {
      this.windows.delete(ip);
      // At the bound, the oldest window is forgotten (its client gets a fresh one next time).
      if (this.windows.size >= this.maxTrackedClients) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      w = { start: t, count: 0 };
      this.windows.set(ip, w);
    }
    w.count++;
    return w.count > rate.count;
  }

  /** Drops ended windows from the old end (insertion order is start order). */
  private expire(t: number, perMs: number): void {
    for (const [ip, w] of this.windows) {
      if (t - w.start < perMs) break;
      this.windows.delete(ip);
    }
  }
}

/** The gate of a single process: the table in memory (tests, one worker without a supervisor). */
export class LocalGate implements ConnectionGate {
  private readonly table: AdmissionTable;
  private next = 0;

  constructor(limits: () => AdmissionLimits, now?: () => number) {
    this.table = new AdmissionTable(limits, now);
  }

  admit(ip: string): Promise<Admission> {
    const slot = ++this.next;
    const refused = this.table.admit(String(slot), ip);
    return Promise.resolve(refused ? { ok: false, limit: refused } : { ok: true, slot });
  }

  release(slot: number): void {
    this.table.release(String(slot));
  }
}
