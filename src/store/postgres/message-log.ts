/**
 * The cluster message log (DESIGN.md §6): the SQLite adapter's tables in PostgreSQL, shared by every
 * node, so `moat explain` and `moat log` on any node see every node's mail. Each row carries the
 * name of the node that wrote it (`node`). Writes go through a small pool (pg 8), one transaction per
 * batch from the buffered writer (message-log-buffer.ts); the schema is migrated at start under an
 * advisory lock (migrate.ts), so nodes starting together are safe.
 * Trusts its callers' values, as the SQLite adapter does; every value reaches the server as a bound
 * parameter, never spliced into SQL. Fails with MessageLogError (transient): the buffer counts and
 * drops, mail never waits for this store. The URL's password is never put into an error.
 */
import type pg from 'pg';
import {
  decodeCursor,
  encodeCursor,
  lookupEach,
  MessageLogError,
  type LoggedAction,
  type LoggedPhase,
  type LoggedReply,
  type LogRecord,
  type MessageEvent,
  type MessageLogStore,
  type MessagePage,
  type MessageSearch,
  type MessageSummary,
  type MessageState,
  type MessageStory,
  type TransactionEntry,
} from '../message-log.js';
import { FAILURE_SYMBOL, type CountSeries, type MessageStatsReader, type NodeHealth, type RelayStatus, type SymbolCount, type TopValue } from '../message-stats.js';
import { addRollups, pruneRollups, readCounts, readNodeHealth, readRelays, readTop, readTopSymbols, ROLLUP_STEP } from './log-rollups.js';
import { migrate, type Migrations } from './migrate.js';
import { createPool, describeUrl } from './pool.js';

export const MESSAGE_LOG_MIGRATIONS: Migrations = {
  component: 'message-log',
  steps: [
    `CREATE TABLE log_messages (
       id BIGSERIAL PRIMARY KEY,
       time BIGINT NOT NULL,
       node TEXT NOT NULL,
       queue_id TEXT NOT NULL,
       session_id TEXT NOT NULL,
       client_ip TEXT NOT NULL,
       sender TEXT,
       subject TEXT,
       action TEXT NOT NULL,
       phase TEXT NOT NULL,
       score DOUBLE PRECISION NOT NULL,
       state TEXT,
       entry JSONB NOT NULL
     );
     CREATE INDEX log_messages_time ON log_messages (time, id);
     CREATE INDEX log_messages_queue ON log_messages (queue_id);
     CREATE INDEX log_messages_sender ON log_messages (sender, time);
     CREATE INDEX log_messages_client ON log_messages (client_ip, time);
     CREATE INDEX log_messages_subject ON log_messages (lower(subject) text_pattern_ops);
     CREATE INDEX log_messages_action ON log_messages (action, time);
     CREATE TABLE log_recipients (
       message BIGINT NOT NULL REFERENCES log_messages (id) ON DELETE CASCADE,
       address TEXT NOT NULL
     );
     CREATE INDEX log_recipients_address ON log_recipients (address, message);
     CREATE INDEX log_recipients_message ON log_recipients (message);
     CREATE TABLE log_events (
       id BIGSERIAL PRIMARY KEY,
       node TEXT NOT NULL,
       queue_id TEXT NOT NULL,
       time BIGINT NOT NULL,
       kind TEXT NOT NULL,
       state TEXT,
       event JSONB NOT NULL
     );
     CREATE INDEX log_events_queue ON log_events (queue_id, id);
     CREATE INDEX log_events_time ON log_events (time);`,
    ROLLUP_STEP,
  ],
};

export interface PostgresMessageLogOptions {
  readonly url: string;
  /** This node's name, written with every row. */
  readonly node: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

interface Row {
  id: string;
  time: string;
  node: string;
  queue_id: string;
  client_ip: string;
  action: string;
  phase: string;
  score: number;
  state: string | null;
  entry: TransactionEntry;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function initialState(action: LoggedAction): MessageState | null {
  return action === 'accept' || action === 'tag' ? 'queued' : action === 'quarantine' ? 'quarantined' : null;
}

export class PostgresMessageLog implements MessageLogStore, MessageStatsReader {
  private readonly pool: pg.Pool;
  private readonly where: string;
  private migrated: Promise<void> | null = null;

  constructor(private readonly o: PostgresMessageLogOptions) {
    this.pool = createPool(o.url, o.poolSize, o.statementTimeoutMs);
    this.where = describeUrl(o.url);
  }

  /** Migrates the schema once (every call after the first waits for the same run). */
  init(): Promise<void> {
    this.migrated ??= migrate(this.pool, MESSAGE_LOG_MIGRATIONS).then(
      () => undefined,
      (e: unknown) => {
        this.migrated = null; // the next call tries again
        throw this.error(e);
      },
    );
    return this.migrated;
  }

  private error(e: unknown): MessageLogError {
    return e instanceof MessageLogError ? e : new MessageLogError(`${this.where}: ${e instanceof Error ? e.message : String(e)}`);
  }

  async write(records: readonly LogRecord[]): Promise<void> {
    await this.init();
    const c = await this.pool.connect().catch((e: unknown) => {
      throw this.error(e);
    });
    try {
      await c.query('BEGIN');
      for (const r of records) {
        if (r.kind === 'transaction') {
          const e = r.entry;
          const res = await c.query<{ id: string }>(
            `INSERT INTO log_messages (time, node, queue_id, session_id, client_ip, sender, subject, action, phase, score, state, entry)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
               COALESCE((SELECT ev.state FROM log_events ev WHERE ev.queue_id = $3 AND ev.kind = 'state' ORDER BY ev.id DESC LIMIT 1), $11), $12)
             RETURNING id`,
            [e.time, this.o.node, e.queueId, e.sessionId, e.client.ip, e.sender === null ? null : e.sender.toLowerCase(), e.subject, e.action, e.phase, e.verdict.score, initialState(e.action), JSON.stringify(e)],
          );
          const id = res.rows[0]?.id;
          const addresses = [...new Set(e.recipients.map((x) => x.address.toLowerCase()))];
          if (id !== undefined && addresses.length > 0) await c.query('INSERT INTO log_recipients (message, address) SELECT $1, unnest($2::text[])', [id, addresses]);
        } else {
          await c.query('INSERT INTO log_events (node, queue_id, time, kind, state, event) VALUES ($1, $2, $3, $4, $5, $6)', [
            this.o.node,
            r.queueId,
            r.time,
            r.kind,
            r.kind === 'state' ? r.state : null,
            JSON.stringify(r),
          ]);
          if (r.kind === 'state') await c.query('UPDATE log_messages SET state = $1 WHERE queue_id = $2', [r.state, r.queueId]);
        }
      }
      await addRollups(c, this.o.node, records);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw this.error(e);
    } finally {
      c.release();
    }
  }

  async search(q: MessageSearch): Promise<MessagePage> {
    await this.init();
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.since !== undefined) where.push(`m.time >= ${p(q.since)}`);
    if (q.until !== undefined) where.push(`m.time < ${p(q.until)}`);
    if (q.queueId !== undefined) where.push(`m.queue_id = ${p(q.queueId)}`);
    if (q.sender !== undefined) {
      const s = q.sender.toLowerCase();
      where.push(s.startsWith('@') ? `m.sender LIKE ${p(`%${likeEscape(s)}`)} ESCAPE '\\'` : `m.sender = ${p(s)}`);
    }
    if (q.recipient !== undefined) {
      const r = q.recipient.toLowerCase();
      const cond = r.startsWith('@') ? `LIKE ${p(`%${likeEscape(r)}`)} ESCAPE '\\'` : `= ${p(r)}`;
      where.push(`EXISTS (SELECT 1 FROM log_recipients r WHERE r.message = m.id AND r.address ${cond})`);
    }
    if (q.clientIp !== undefined) where.push(`m.client_ip = ${p(q.clientIp)}`);
    if (q.subject !== undefined) {
      const s = q.subject.toLowerCase();
      where.push(`lower(m.subject) LIKE ${p(q.subjectMatch === 'contains' ? `%${likeEscape(s)}%` : `${likeEscape(s)}%`)} ESCAPE '\\'`);
    }
    if (q.action !== undefined) where.push(`m.action = ${p(q.action)}`);
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new MessageLogError('bad cursor');
      const ct = p(c.time);
      where.push(`(m.time < ${ct} OR (m.time = ${ct} AND m.id < ${p(c.id)}))`);
    }
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
    const sql = `SELECT m.id, m.time, m.node, m.queue_id, m.client_ip, m.action, m.phase, m.score, m.state, m.entry
      FROM log_messages m ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY m.time DESC, m.id DESC LIMIT ${p(limit + 1)}`;
    const rows = await this.pool.query<Row>(sql, params).then(
      (r) => r.rows,
      (e: unknown) => {
        throw this.error(e);
      },
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => ({
        time: Number(row.time),
        queueId: row.queue_id,
        clientIp: row.client_ip,
        sender: row.entry.sender,
        recipients: row.entry.recipients.map((r) => r.address),
        subject: row.entry.subject,
        action: row.action as LoggedAction,
        phase: row.phase as LoggedPhase,
        score: row.score,
        reply: row.entry.reply as LoggedReply | null,
        state: row.state as MessageState | null,
        node: row.node,
      })),
      next: rows.length > limit && last ? encodeCursor(Number(last.time), Number(last.id)) : null,
    };
  }

  async story(queueId: string): Promise<MessageStory | null> {
    await this.init();
    try {
      const [m, ev] = await Promise.all([
        this.pool.query<{ entry: TransactionEntry; state: string | null; node: string }>('SELECT entry, state, node FROM log_messages WHERE queue_id = $1 ORDER BY id DESC LIMIT 1', [queueId]),
        this.pool.query<{ event: MessageEvent }>('SELECT event FROM log_events WHERE queue_id = $1 ORDER BY time, id', [queueId]),
      ]);
      const row = m.rows[0];
      const events = ev.rows.map((r) => r.event);
      if (!row && events.length === 0) return null;
      const lastState = events.filter((e) => e.kind === 'state').at(-1);
      return { queueId, entry: row?.entry ?? null, events, state: lastState?.state ?? (row?.state as MessageState | null) ?? null, ...(row ? { node: row.node } : {}) };
    } catch (e) {
      throw this.error(e);
    }
  }

  async lookup(queueIds: readonly string[]): Promise<MessageSummary[]> {
    return lookupEach(this, queueIds);
  }

  async prune(before: number, limit: number): Promise<number> {
    await this.init();
    try {
      const a = await this.pool.query('DELETE FROM log_messages WHERE id IN (SELECT id FROM log_messages WHERE time < $1 ORDER BY time LIMIT $2)', [before, limit]);
      const b = await this.pool.query('DELETE FROM log_events WHERE id IN (SELECT id FROM log_events WHERE time < $1 ORDER BY time LIMIT $2)', [before, limit]);
      await pruneRollups(this.pool, before);
      return (a.rowCount ?? 0) + (b.rowCount ?? 0);
    } catch (e) {
      throw this.error(e);
    }
  }

  private async read<T>(fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
    await this.init();
    try {
      return await fn(this.pool);
    } catch (e) {
      throw this.error(e);
    }
  }

  counts(since: number, until: number, bucketMs: number): Promise<CountSeries> {
    return this.read((p) => readCounts(p, since, until, bucketMs));
  }

  topSymbols(since: number, limit: number): Promise<SymbolCount[]> {
    return this.read((p) => readTopSymbols(p, since, limit));
  }

  top(field: 'clientIp' | 'senderDomain', since: number, limit: number): Promise<TopValue[]> {
    return this.read((p) => readTop(p, field, since, limit));
  }

  relays(): Promise<RelayStatus[]> {
    return this.read((p) => readRelays(p));
  }

  nodeHealth(since: number): Promise<NodeHealth[]> {
    return this.read((p) => readNodeHealth(p, since, FAILURE_SYMBOL));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
