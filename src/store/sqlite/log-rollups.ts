/**
 * The message log's rollups in SQLite (message-stats.ts): counts per minute and kind, symbol hits
 * per hour, and the last attempt per LAN server, kept up to date inside the log's own write
 * transaction with one upsert per key and batch. `INSERT … ON CONFLICT … DO UPDATE` is written the
 * same in SQLite (3.24+) and PostgreSQL (9.5+). The top lists read the log's rows over the window
 * through a covering index on (time, action, client_ip, sender), so no entry's JSON is parsed.
 * A connection opened read-only only queries. Failures are thrown to the caller (SqliteMessageLog
 * turns them into MessageLogError).
 */
import type Database from 'better-sqlite3';
import { COUNT_KINDS, rollup, type CountKind, type CountSeries, type RelayStatus, type SymbolCount, type TopValue } from '../message-stats.js';
import type { LogRecord } from '../message-log.js';

export const ROLLUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS log_counts (
  minute INTEGER NOT NULL,
  kind TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (minute, kind)
);
CREATE TABLE IF NOT EXISTS log_symbol_hours (
  hour INTEGER NOT NULL,
  symbol TEXT NOT NULL,
  check_name TEXT NOT NULL,
  n INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  PRIMARY KEY (hour, symbol)
);
CREATE TABLE IF NOT EXISTS log_relays (
  target TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  reply TEXT NOT NULL,
  last_delivered INTEGER
);
CREATE INDEX IF NOT EXISTS log_messages_time_cover ON log_messages (time, action, client_ip, sender);
`;

/** Schema 1 → 2: the rollups above, and the counts of the entries already logged. */
export const ROLLUP_BACKFILL = `
INSERT OR IGNORE INTO log_counts (minute, kind, n)
  SELECT (time / 60000) * 60000, action, COUNT(*) FROM log_messages GROUP BY (time / 60000), action;
`;

const MINUTE = 60_000;
const MAX_TOP = 100;

type Reads = ReturnType<typeof prepareReads>;

/** Prepared on first use: a file of schema 1 opened read-only has no rollup tables yet. */
function prepareReads(db: Database.Database) {
  return {
    counts: db.prepare<[{ since: number; until: number; bucket: number }], { b: number; kind: string; n: number }>(
      'SELECT (minute - @since) / @bucket AS b, kind, SUM(n) AS n FROM log_counts WHERE minute >= @since AND minute < @until GROUP BY b, kind',
    ),
    symbols: db.prepare<[number, number], SymbolCount>(
      'SELECT symbol, MIN(check_name) AS "check", SUM(n) AS n, SUM(refused) AS refused FROM log_symbol_hours WHERE hour >= ? GROUP BY symbol ORDER BY n DESC, symbol LIMIT ?',
    ),
    clients: db.prepare<[number, number], TopValue>(
      "SELECT client_ip AS value, COUNT(*) AS n, SUM(CASE WHEN action IN ('reject', 'defer') THEN 1 ELSE 0 END) AS refused FROM log_messages WHERE time >= ? GROUP BY client_ip ORDER BY n DESC, value LIMIT ?",
    ),
    domains: db.prepare<[number, number], TopValue>(
      `SELECT substr(sender, instr(sender, '@') + 1) AS value, COUNT(*) AS n, SUM(CASE WHEN action IN ('reject', 'defer') THEN 1 ELSE 0 END) AS refused
       FROM log_messages WHERE time >= ? AND sender LIKE '%@%' GROUP BY value ORDER BY n DESC, value LIMIT ?`,
    ),
    relays: db.prepare<[], { target: string; time: number; outcome: RelayStatus['outcome']; reply: string; last_delivered: number | null }>(
      'SELECT target, time, outcome, reply, last_delivered FROM log_relays ORDER BY target LIMIT 500',
    ),
  };
}

/** Synchronous (better-sqlite3); SqliteMessageLog offers them behind the async port. */
export class SqliteLogRollups {
  private readonly write: {
    count: Database.Statement<[number, string, number]>;
    symbol: Database.Statement<[number, string, string, number, number]>;
    relay: Database.Statement<[string, number, string, string, number | null]>;
    pruneCounts: Database.Statement<[number]>;
    pruneSymbols: Database.Statement<[number]>;
  } | null;
  private reads: Reads | null = null;

  constructor(
    private readonly db: Database.Database,
    writable: boolean,
  ) {
    this.write = writable
      ? {
          count: db.prepare('INSERT INTO log_counts (minute, kind, n) VALUES (?, ?, ?) ON CONFLICT (minute, kind) DO UPDATE SET n = log_counts.n + excluded.n'),
          symbol: db.prepare(
            `INSERT INTO log_symbol_hours (hour, symbol, check_name, n, refused) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (hour, symbol) DO UPDATE SET n = log_symbol_hours.n + excluded.n, refused = log_symbol_hours.refused + excluded.refused`,
          ),
          // An older attempt written late (by the other worker) never overwrites a newer one.
          relay: db.prepare(
            `INSERT INTO log_relays (target, time, outcome, reply, last_delivered) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (target) DO UPDATE SET
               time = CASE WHEN excluded.time >= log_relays.time THEN excluded.time ELSE log_relays.time END,
               outcome = CASE WHEN excluded.time >= log_relays.time THEN excluded.outcome ELSE log_relays.outcome END,
               reply = CASE WHEN excluded.time >= log_relays.time THEN excluded.reply ELSE log_relays.reply END,
               last_delivered = MAX(COALESCE(excluded.last_delivered, 0), COALESCE(log_relays.last_delivered, 0))`,
          ),
          pruneCounts: db.prepare('DELETE FROM log_counts WHERE minute < ?'),
          pruneSymbols: db.prepare('DELETE FROM log_symbol_hours WHERE hour < ?'),
        }
      : null;
  }

  /** Inside the log's write transaction: the increments of one batch. */
  add(records: readonly LogRecord[]): void {
    const w = this.write;
    if (!w) return;
    const d = rollup(records);
    for (const c of d.counts.values()) w.count.run(c.minute, c.kind, c.n);
    for (const s of d.symbols.values()) w.symbol.run(s.hour, s.symbol, s.check, s.n, s.refused);
    for (const r of d.relays.values()) w.relay.run(r.target, r.time, r.outcome, r.reply, r.lastDelivered);
  }

  /** Inside a prune: the rollups of the pruned window (relay states stay: one row per server). */
  prune(before: number): number {
    const w = this.write;
    if (!w) return 0;
    return w.pruneCounts.run(before).changes + w.pruneSymbols.run(before - 3_600_000).changes;
  }

  private get read(): Reads {
    this.reads ??= prepareReads(this.db);
    return this.reads;
  }

  counts(since: number, until: number, bucketMs: number): CountSeries {
    const bucket = Math.max(MINUTE, Math.round(bucketMs / MINUTE) * MINUTE);
    const from = Math.floor(since / bucket) * bucket;
    const buckets = Math.max(0, Math.min(20_000, Math.ceil((until - from) / bucket)));
    const counts = Object.fromEntries(COUNT_KINDS.map((k) => [k, new Array<number>(buckets).fill(0)])) as Record<CountKind, number[]>;
    for (const row of this.read.counts.all({ since: from, until: from + buckets * bucket, bucket })) {
      const series = counts[row.kind as CountKind] as number[] | undefined;
      if (series && row.b >= 0 && row.b < buckets) series[row.b] = row.n;
    }
    return { from, bucketMs: bucket, counts };
  }

  topSymbols(since: number, limit: number): SymbolCount[] {
    return this.read.symbols.all(Math.floor(since / 3_600_000) * 3_600_000, clampTop(limit));
  }

  top(field: 'clientIp' | 'senderDomain', since: number, limit: number): TopValue[] {
    return (field === 'clientIp' ? this.read.clients : this.read.domains).all(since, clampTop(limit));
  }

  relays(): RelayStatus[] {
    return this.read.relays.all().map((r) => ({ target: r.target, time: r.time, outcome: r.outcome, reply: r.reply, lastDelivered: r.last_delivered || null }));
  }
}

function clampTop(n: number): number {
  return Math.max(1, Math.min(MAX_TOP, Math.floor(n)));
}
