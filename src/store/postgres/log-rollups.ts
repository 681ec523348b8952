/**
 * The message log's rollups in PostgreSQL (message-stats.ts): the SQLite adapter's tables
 * (src/store/sqlite/log-rollups.ts) with one more key column, `node`. Each node adds only to its
 * own rows, inside its message-log write transaction, so two nodes never wait on each other's row
 * locks; the cluster's figures are sums over the nodes, and the same rows answer per node (relay
 * reachability and scanner failures as each node sees them: NodeStatsReader). Within one node the
 * workers' batches upsert their keys in one sorted order (one multi-row statement per table), so
 * two concurrent batches cannot deadlock. The top lists read the log's rows over the window, as
 * in SQLite, through a covering index.
 * Trusts its callers' windows; bounds every list. Errors are thrown to the caller
 * (PostgresMessageLog turns them into MessageLogError).
 */
import type pg from 'pg';
import { COUNT_KINDS, rollup, type CountKind, type CountSeries, type NodeHealth, type RelayStatus, type SymbolCount, type TopValue } from '../message-stats.js';
import type { LogRecord } from '../message-log.js';

/** Step 2 of the message-log component: the rollups, and the counts of the entries already logged. */
export const ROLLUP_STEP = `
CREATE TABLE log_counts (
  minute BIGINT NOT NULL,
  node TEXT NOT NULL,
  kind TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (minute, node, kind)
);
CREATE TABLE log_symbol_hours (
  hour BIGINT NOT NULL,
  node TEXT NOT NULL,
  symbol TEXT NOT NULL,
  check_name TEXT NOT NULL,
  n BIGINT NOT NULL,
  refused BIGINT NOT NULL,
  PRIMARY KEY (hour, node, symbol)
);
CREATE TABLE log_relays (
  node TEXT NOT NULL,
  target TEXT NOT NULL,
  time BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  reply TEXT NOT NULL,
  last_delivered BIGINT,
  PRIMARY KEY (node, target)
);
CREATE INDEX log_messages_time_cover ON log_messages (time, action, client_ip, sender);
INSERT INTO log_counts (minute, node, kind, n)
  SELECT (time / 60000) * 60000, node, action, COUNT(*) FROM log_messages GROUP BY 1, 2, 3;
`;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const MAX_TOP = 100;

const clampTop = (n: number): number => Math.max(1, Math.min(MAX_TOP, Math.floor(n)));
const byKey = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/** Inside the log's write transaction: this batch's increments to this node's rows. */
export async function addRollups(c: pg.ClientBase, node: string, records: readonly LogRecord[]): Promise<void> {
  const d = rollup(records);
  const counts = byKey(d.counts);
  if (counts.length > 0) {
    await c.query(
      `INSERT INTO log_counts (minute, node, kind, n) SELECT m, $1, k, n FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS x(m, k, n)
       ON CONFLICT (minute, node, kind) DO UPDATE SET n = log_counts.n + excluded.n`,
      [node, counts.map((x) => x.minute), counts.map((x) => x.kind), counts.map((x) => x.n)],
    );
  }
  const symbols = byKey(d.symbols);
  if (symbols.length > 0) {
    await c.query(
      `INSERT INTO log_symbol_hours (hour, node, symbol, check_name, n, refused)
         SELECT h, $1, s, c, n, r FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS x(h, s, c, n, r)
       ON CONFLICT (hour, node, symbol) DO UPDATE SET n = log_symbol_hours.n + excluded.n, refused = log_symbol_hours.refused + excluded.refused`,
      [node, symbols.map((x) => x.hour), symbols.map((x) => x.symbol), symbols.map((x) => x.check), symbols.map((x) => x.n), symbols.map((x) => x.refused)],
    );
  }
  const relays = byKey(d.relays);
  if (relays.length > 0) {
    // An older attempt written late (by the other worker) never overwrites a newer one.
    await c.query(
      `INSERT INTO log_relays (node, target, time, outcome, reply, last_delivered)
         SELECT $1, t, tm, o, r, l FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) AS x(t, tm, o, r, l)
       ON CONFLICT (node, target) DO UPDATE SET
         time = GREATEST(excluded.time, log_relays.time),
         outcome = CASE WHEN excluded.time >= log_relays.time THEN excluded.outcome ELSE log_relays.outcome END,
         reply = CASE WHEN excluded.time >= log_relays.time THEN excluded.reply ELSE log_relays.reply END,
         last_delivered = NULLIF(GREATEST(COALESCE(excluded.last_delivered, 0), COALESCE(log_relays.last_delivered, 0)), 0)`,
      [node, relays.map((x) => x.target), relays.map((x) => x.time), relays.map((x) => x.outcome), relays.map((x) => x.reply), relays.map((x) => x.lastDelivered)],
    );
  }
}

/** With a prune: the rollups of the pruned window (relay states stay: one row per node and server). */
export async function pruneRollups(pool: pg.Pool, before: number): Promise<number> {
  const a = await pool.query('DELETE FROM log_counts WHERE minute < $1', [before]);
  const b = await pool.query('DELETE FROM log_symbol_hours WHERE hour < $1', [before - HOUR]);
  return (a.rowCount ?? 0) + (b.rowCount ?? 0);
}

export async function readCounts(pool: pg.Pool, since: number, until: number, bucketMs: number): Promise<CountSeries> {
  const bucket = Math.max(MINUTE, Math.round(bucketMs / MINUTE) * MINUTE);
  const from = Math.floor(since / bucket) * bucket;
  const buckets = Math.max(0, Math.min(20_000, Math.ceil((until - from) / bucket)));
  const counts = Object.fromEntries(COUNT_KINDS.map((k) => [k, new Array<number>(buckets).fill(0)])) as Record<CountKind, number[]>;
  const r = await pool.query<{ b: string; kind: string; n: string }>(
    'SELECT (minute - $1) / $3 AS b, kind, SUM(n) AS n FROM log_counts WHERE minute >= $1 AND minute < $2 GROUP BY 1, 2',
    [from, from + buckets * bucket, bucket],
  );
  for (const row of r.rows) {
    const series = counts[row.kind as CountKind] as number[] | undefined;
    const b = Number(row.b);
    if (series && b >= 0 && b < buckets) series[b] = Number(row.n);
  }
  return { from, bucketMs: bucket, counts };
}

interface SymbolRow {
  symbol: string;
  check: string;
  n: string;
  refused: string;
}
const symbolCount = (r: SymbolRow): SymbolCount => ({ symbol: r.symbol, check: r.check, n: Number(r.n), refused: Number(r.refused) });

export async function readTopSymbols(pool: pg.Pool, since: number, limit: number): Promise<SymbolCount[]> {
  const r = await pool.query<SymbolRow>(
    'SELECT symbol, MIN(check_name) AS "check", SUM(n) AS n, SUM(refused) AS refused FROM log_symbol_hours WHERE hour >= $1 GROUP BY symbol ORDER BY SUM(n) DESC, symbol LIMIT $2',
    [Math.floor(since / HOUR) * HOUR, clampTop(limit)],
  );
  return r.rows.map(symbolCount);
}

export async function readTop(pool: pg.Pool, field: 'clientIp' | 'senderDomain', since: number, limit: number): Promise<TopValue[]> {
  const refused = "SUM(CASE WHEN action IN ('reject', 'defer') THEN 1 ELSE 0 END) AS refused";
  const sql =
    field === 'clientIp'
      ? `SELECT client_ip AS value, COUNT(*) AS n, ${refused} FROM log_messages WHERE time >= $1 GROUP BY client_ip ORDER BY n DESC, value LIMIT $2`
      : `SELECT split_part(sender, '@', 2) AS value, COUNT(*) AS n, ${refused} FROM log_messages WHERE time >= $1 AND sender LIKE '%@%' GROUP BY 1 ORDER BY n DESC, value LIMIT $2`;
  const r = await pool.query<{ value: string; n: string; refused: string }>(sql, [since, clampTop(limit)]);
  return r.rows.map((x) => ({ value: x.value, n: Number(x.n), refused: Number(x.refused) }));
}

interface RelayRow {
  node: string;
  target: string;
  time: string;
  outcome: RelayStatus['outcome'];
  reply: string;
  last_delivered: string | null;
}
const relayStatus = (r: RelayRow): RelayStatus => ({ target: r.target, time: Number(r.time), outcome: r.outcome, reply: r.reply, lastDelivered: r.last_delivered === null ? null : Number(r.last_delivered) });

/** The cluster's view of each LAN server: the newest attempt of any node, the last delivery of any. */
export async function readRelays(pool: pg.Pool): Promise<RelayStatus[]> {
  const r = await pool.query<RelayRow>(
    `SELECT DISTINCT ON (target) node, target, time, outcome, reply,
       (SELECT MAX(last_delivered) FROM log_relays x WHERE x.target = l.target) AS last_delivered
     FROM log_relays l ORDER BY target, time DESC LIMIT 500`,
  );
  return r.rows.map(relayStatus);
}

/** Per node: its own last attempt per LAN server, and its checks' failure symbols since `since`. */
export async function readNodeHealth(pool: pg.Pool, since: number, failure: RegExp): Promise<NodeHealth[]> {
  const [relays, symbols] = await Promise.all([
    pool.query<RelayRow>('SELECT node, target, time, outcome, reply, last_delivered FROM log_relays ORDER BY node, target LIMIT 5000'),
    pool.query<SymbolRow & { node: string }>(
      'SELECT node, symbol, MIN(check_name) AS "check", SUM(n) AS n, SUM(refused) AS refused FROM log_symbol_hours WHERE hour >= $1 GROUP BY node, symbol ORDER BY node, symbol LIMIT 5000',
      [Math.floor(since / HOUR) * HOUR],
    ),
  ]);
  const out = new Map<string, { node: string; relays: RelayStatus[]; failures: SymbolCount[] }>();
  const of = (node: string) => {
    let h = out.get(node);
    if (!h) out.set(node, (h = { node, relays: [], failures: [] }));
    return h;
  };
  for (const r of relays.rows) of(r.node).relays.push(relayStatus(r));
  for (const s of symbols.rows) if (failure.test(s.symbol)) of(s.node).failures.push(symbolCount(s));
  return [...out.values()];
}
