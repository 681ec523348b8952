/**
 * The message log's aggregates, for the console's dashboard: counts per minute by outcome, symbol
 * hits per hour, the busiest sender domains and client IPs, and the last delivery outcome per LAN
 * server. The store keeps them as rollups written in the same transaction as the log records (so a
 * week's chart reads at most 10,080 rows per kind, never the log itself); the top lists are read
 * from the log's indexed columns over the window asked for. Async and dialect-free like the
 * message log port (message-log.ts): PostgreSQL can keep the same tables.
 * Trusts its callers' windows; bounds every list it returns.
 */
import type { LoggedAction, LogRecord } from './message-log.js';

/**
 * What is counted per minute: each transaction by its action, and each recipient's delivery
 * attempt by its outcome (delivered to the LAN server, retried later, failed and bounced).
 */
export type CountKind = LoggedAction | 'delivered' | 'retried' | 'bounced';

export const COUNT_KINDS: readonly CountKind[] = ['accept', 'tag', 'quarantine', 'reject', 'defer', 'abandoned', 'delivered', 'retried', 'bounced'];

export interface CountSeries {
  /** Start of the first bucket (ms since the epoch, a multiple of bucketMs). */
  readonly from: number;
  readonly bucketMs: number;
  /** One array per kind, one number per bucket, oldest first. */
  readonly counts: Readonly<Record<CountKind, readonly number[]>>;
}

/** Each kind's sum over the whole series (all zero without a message log). */
export function seriesTotals(series: CountSeries | null): Record<CountKind, number> {
  return Object.fromEntries(COUNT_KINDS.map((k) => [k, series ? series.counts[k].reduce((a, b) => a + b, 0) : 0])) as Record<CountKind, number>;
}

export interface SymbolCount {
  readonly symbol: string;
  readonly check: string;
  /** Transactions that had the symbol… */
  readonly n: number;
  /** …of which were refused (reject or defer). */
  readonly refused: number;
}

export interface TopValue {
  readonly value: string;
  readonly n: number;
  /** Of these, refused (reject or defer). */
  readonly refused: number;
}

/** The last delivery attempt that reached (or failed to reach) a LAN server. */
export interface RelayStatus {
  /** "host:port" of the server, or "@domain" for attempts where no server of the domain was reached. */
  readonly target: string;
  readonly time: number;
  readonly outcome: 'delivered' | 'retry' | 'failed';
  readonly reply: string;
  /** Last time a recipient was delivered through it, null if never (in the retained window). */
  readonly lastDelivered: number | null;
}

export interface MessageStatsReader {
  /** Counts in [since, until) in buckets of bucketMs (a multiple of one minute). */
  counts(since: number, until: number, bucketMs: number): Promise<CountSeries>;
  /** The symbols seen most since `since` (hour resolution), most frequent first. */
  topSymbols(since: number, limit: number): Promise<SymbolCount[]>;
  /** The busiest client IPs or sender domains of the entries since `since`. */
  top(field: 'clientIp' | 'senderDomain', since: number, limit: number): Promise<TopValue[]>;
  relays(): Promise<RelayStatus[]>;
  /** Per node, where the store keeps the node (the cluster store): its own LAN server states and check failures. */
  nodeHealth?(since: number): Promise<NodeHealth[]>;
}

/** A dependency failure of a check or scanner, as its symbol says (CLAMAV_TEMPFAIL, SPF_TEMPERROR, …). */
export const FAILURE_SYMBOL = /_(TEMPFAIL|ERROR|TEMPERROR)$/;

/** What one node's own mail says about its LAN servers and its checks. */
export interface NodeHealth {
  readonly node: string;
  /** Its last attempt per LAN server (target as in RelayStatus). */
  readonly relays: readonly RelayStatus[];
  /** Its failure symbols (FAILURE_SYMBOL) since the time asked, per symbol. */
  readonly failures: readonly SymbolCount[];
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** The rollup increments one batch of log records makes: per (minute, kind), per (hour, symbol). */
export interface RollupDelta {
  readonly counts: Map<string, { minute: number; kind: CountKind; n: number }>;
  readonly symbols: Map<string, { hour: number; symbol: string; check: string; n: number; refused: number }>;
  readonly relays: Map<string, RelayStatus>;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : '';
}

/** Adds up what a batch of records changes in the rollups (one upsert per key, not per record). */
export function rollup(records: readonly LogRecord[]): RollupDelta {
  const d: RollupDelta = { counts: new Map(), symbols: new Map(), relays: new Map() };
  const count = (time: number, kind: CountKind, n: number): void => {
    const minute = Math.floor(time / MINUTE) * MINUTE;
    const k = `${minute}:${kind}`;
    const c = d.counts.get(k);
    if (c) c.n += n;
    else d.counts.set(k, { minute, kind, n });
  };
  for (const r of records) {
    if (r.kind === 'transaction') {
      const e = r.entry;
      count(e.time, e.action, 1);
      const hour = Math.floor(e.time / HOUR) * HOUR;
      const refused = e.action === 'reject' || e.action === 'defer' ? 1 : 0;
      const seen = new Set<string>();
      for (const f of e.verdict.findings) {
        if (seen.has(f.symbol)) continue;
        seen.add(f.symbol);
        const k = `${hour}:${f.symbol}`;
        const s = d.symbols.get(k);
        if (s) {
          s.n++;
          s.refused += refused;
        } else d.symbols.set(k, { hour, symbol: f.symbol, check: f.check, n: 1, refused });
      }
    } else if (r.kind === 'attempt') {
      count(r.time, r.outcome === 'delivered' ? 'delivered' : r.outcome === 'retry' ? 'retried' : 'bounced', r.recipients.length);
      const target = r.relay ?? `@${domainOf(r.recipients[0] ?? '')}`;
      const prev = d.relays.get(target);
      const lastDelivered = r.outcome === 'delivered' ? r.time : (prev?.lastDelivered ?? null);
      if (!prev || prev.time <= r.time) d.relays.set(target, { target, time: r.time, outcome: r.outcome, reply: r.reply.slice(0, 300), lastDelivered });
    }
  }
  return d;
}
