/**
 * The embedded message log: one SQLite file (better-sqlite3) that every worker of a node writes and
 * `moat explain` reads, also while the gateway runs (WAL: a reader never waits for the writer, nor
 * the writer for it). synchronous=NORMAL: this is a record about mail, not mail — a power cut may
 * lose the last entries, never a message. A busy timeout lets two workers' flushes queue up.
 * The whole entry is kept as JSON; the columns searched are copied beside it, with an index each
 * (time, queue id, sender, recipient, client IP, subject, action). The SQL is kept plain (no
 * upserts, no JSON functions) so that the PostgreSQL adapter can follow it closely.
 * The dashboard's rollups (log-rollups.ts) are written in the same transaction as the records.
 * Opened read-only (explain), it never creates or changes anything. Every failure is a MessageLogError.
 */
import Database from 'better-sqlite3';
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
import type { CountSeries, MessageStatsReader, RelayStatus, SymbolCount, TopValue } from '../message-stats.js';
import { ROLLUP_BACKFILL, ROLLUP_SCHEMA, SqliteLogRollups } from './log-rollups.js';

/** 2: the dashboard's rollups (log-rollups.ts). */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_messages (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  queue_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  sender TEXT,
  subject TEXT,
  action TEXT NOT NULL,
  phase TEXT NOT NULL,
  score REAL NOT NULL,
  state TEXT,
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_messages_time ON log_messages (time, id);
CREATE INDEX IF NOT EXISTS log_messages_queue ON log_messages (queue_id);
CREATE INDEX IF NOT EXISTS log_messages_sender ON log_messages (sender, time);
CREATE INDEX IF NOT EXISTS log_messages_client ON log_messages (client_ip, time);
CREATE INDEX IF NOT EXISTS log_messages_subject ON log_messages (subject COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS log_messages_action ON log_messages (action, time);
CREATE TABLE IF NOT EXISTS log_recipients (
  message INTEGER NOT NULL REFERENCES log_messages (id) ON DELETE CASCADE,
  address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_recipients_address ON log_recipients (address, message);
CREATE INDEX IF NOT EXISTS log_recipients_message ON log_recipients (message);
CREATE TABLE IF NOT EXISTS log_events (
  id INTEGER PRIMARY KEY,
  queue_id TEXT NOT NULL,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  state TEXT,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_queue ON log_events (queue_id, id);
CREATE INDEX IF NOT EXISTS log_events_time ON log_events (time);
`;

interface Row {
  id: number;
  time: number;
  queue_id: string;
  client_ip: string;
  sender: string | null;
  subject: string | null;
  action: string;
  phase: string;
  score: number;
  state: string | null;
  entry: string;
}

export interface SqliteMessageLogOptions {
  /** Open an existing file for reading only (moat explain); nothing is created or written. */
  readonly readonly?: boolean;
}

/** "a\%b_" for LIKE with ESCAPE '\'. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function initialState(action: LoggedAction): MessageState | null {
  return action === 'accept' || action === 'tag' ? 'queued' : action === 'quarantine' ? 'quarantined' : null;
}

export class SqliteMessageLog implements MessageLogStore, MessageStatsReader {
  private readonly db: Database.Database;
  private readonly queries = new Map<string, Database.Statement>();
  private readonly stmt: {
    insertMessage: Database.Statement<[number, string, string, string, string | null, string | null, string, string, number, string, string | null, string]>;
    insertRecipient: Database.Statement<[number | bigint, string]>;
    insertEvent: Database.Statement<[string, number, string, string | null, string]>;
    setState: Database.Statement<[string, string]>;
    pruneMessages: Database.Statement<[number, number]>;
    pruneEvents: Database.Statement<[number, number]>;
  } | null;
  private readonly storyEntry: Database.Statement<[string], { entry: string; state: string | null }>;
  private readonly storyEvents: Database.Statement<[string], { event: string }>;
  private readonly writeAll: ((records: readonly LogRecord[]) => void) | null;
  private readonly rollups: SqliteLogRollups;

  constructor(
    readonly path: string,
    options: SqliteMessageLogOptions = {},
  ) {
    try {
      if (options.readonly) {
        this.db = new Database(path, { readonly: true, fileMustExist: true });
        this.db.pragma('busy_timeout = 5000');
      } else {
        this.db = new Database(path);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('busy_timeout = 5000');
        this.db.pragma('foreign_keys = ON');
        const version = Number(this.db.pragma('user_version', { simple: true }));
        if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this Moat (${SCHEMA_VERSION})`);
        this.db.transaction(() => {
          this.db.exec(SCHEMA);
          this.db.exec(ROLLUP_SCHEMA);
          if (version === 1) this.db.exec(ROLLUP_BACKFILL);
          if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
        }).immediate();
      }
      this.rollups = new SqliteLogRollups(this.db, !options.readonly);
      this.storyEntry = this.db.prepare('SELECT entry, state FROM log_messages WHERE queue_id = ? ORDER BY id DESC LIMIT 1');
      this.storyEvents = this.db.prepare('SELECT event FROM log_events WHERE queue_id = ? ORDER BY time, id');
    } catch (e) {
      throw new MessageLogError(`message log ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (options.readonly) {
      this.stmt = null;
      this.writeAll = null;
      return;
    }
    const stmt = {
      // A state event may have been written (by another worker) before the entry: it wins.
      insertMessage: this.db.prepare<[number, string, string, string, string | null, string | null, string, string, number, string, string | null, string]>(
        `INSERT INTO log_messages (time, queue_id, session_id, client_ip, sender, subject, action, phase, score, state, entry)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,
           COALESCE((SELECT e.state FROM log_events e WHERE e.queue_id = ? AND e.kind = 'state' ORDER BY e.id DESC LIMIT 1), ?), ?)`,
      ),
      insertRecipient: this.db.prepare<[number | bigint, string]>('INSERT INTO log_recipients (message, address) VALUES (?, ?)'),
      insertEvent: this.db.prepare<[string, number, string, string | null, string]>('INSERT INTO log_events (queue_id, time, kind, state, event) VALUES (?, ?, ?, ?, ?)'),
      setState: this.db.prepare<[string, string]>('UPDATE log_messages SET state = ? WHERE queue_id = ?'),
      pruneMessages: this.db.prepare<[number, number]>('DELETE FROM log_messages WHERE id IN (SELECT id FROM log_messages WHERE time < ? ORDER BY time LIMIT ?)'),
      pruneEvents: this.db.prepare<[number, number]>('DELETE FROM log_events WHERE id IN (SELECT id FROM log_events WHERE time < ? ORDER BY time LIMIT ?)'),
    };
    this.stmt = stmt;
    this.writeAll = this.db.transaction((records: readonly LogRecord[]) => {
      for (const r of records) {
        if (r.kind === 'transaction') {
          const e = r.entry;
          const id = stmt.insertMessage.run(
            e.time,
            e.queueId,
            e.sessionId,
            e.client.ip,
            e.sender === null ? null : e.sender.toLowerCase(),
            e.subject,
            e.action,
            e.phase,
            e.verdict.score,
            e.queueId,
            initialState(e.action),
            JSON.stringify(e),
          ).lastInsertRowid;
          for (const address of new Set(e.recipients.map((x) => x.address.toLowerCase()))) stmt.insertRecipient.run(id, address);
        } else {
          stmt.insertEvent.run(r.queueId, r.time, r.kind, r.kind === 'state' ? r.state : null, JSON.stringify(r));
          if (r.kind === 'state') stmt.setState.run(r.state, r.queueId);
        }
      }
      this.rollups.add(records);
    });
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new MessageLogError(e instanceof Error ? e.message : String(e));
    }
  }

  async write(records: readonly LogRecord[]): Promise<void> {
    const write = this.writeAll;
    if (!write) throw new MessageLogError(`message log ${this.path} is open read-only`);
    this.run(() => write(records));
  }

  async search(q: MessageSearch): Promise<MessagePage> {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (q.since !== undefined) {
      where.push('m.time >= @since');
      params['since'] = q.since;
    }
    if (q.until !== undefined) {
      where.push('m.time < @until');
      params['until'] = q.until;
    }
    if (q.queueId !== undefined) {
      where.push('m.queue_id = @queueId');
      params['queueId'] = q.queueId;
    }
    if (q.sender !== undefined) {
      const s = q.sender.toLowerCase();
      where.push(s.startsWith('@') ? "m.sender LIKE @sender ESCAPE '\\'" : 'm.sender = @sender');
      params['sender'] = s.startsWith('@') ? `%${likeEscape(s)}` : s;
    }
    if (q.recipient !== undefined) {
      const r = q.recipient.toLowerCase();
      where.push(`EXISTS (SELECT 1 FROM log_recipients r WHERE r.message = m.id AND r.address ${r.startsWith('@') ? "LIKE @recipient ESCAPE '\\'" : '= @recipient'})`);
      params['recipient'] = r.startsWith('@') ? `%${likeEscape(r)}` : r;
    }
    if (q.clientIp !== undefined) {
      where.push('m.client_ip = @clientIp');
      params['clientIp'] = q.clientIp;
    }
    if (q.subject !== undefined) {
      where.push("m.subject LIKE @subject ESCAPE '\\'");
      params['subject'] = q.subjectMatch === 'contains' ? `%${likeEscape(q.subject)}%` : `${likeEscape(q.subject)}%`;
    }
    if (q.action !== undefined) {
      where.push('m.action = @action');
      params['action'] = q.action;
    }
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new MessageLogError('bad cursor');
      where.push('(m.time < @ct OR (m.time = @ct AND m.id < @cid))');
      params['ct'] = c.time;
      params['cid'] = c.id;
    }
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
    params['limit'] = limit + 1;
    const sql = `SELECT m.id, m.time, m.queue_id, m.client_ip, m.sender, m.subject, m.action, m.phase, m.score, m.state, m.entry
      FROM log_messages m ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY m.time DESC, m.id DESC LIMIT @limit`;
    const rows = this.run(() => this.query(sql).all(params) as Row[]);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => {
        const e = JSON.parse(row.entry) as TransactionEntry;
        return {
          time: row.time,
          queueId: row.queue_id,
          clientIp: row.client_ip,
          sender: e.sender,
          recipients: e.recipients.map((r) => r.address),
          subject: e.subject,
          action: row.action as LoggedAction,
          phase: row.phase as LoggedPhase,
          score: row.score,
          reply: e.reply as LoggedReply | null,
          state: row.state as MessageState | null,
        };
      }),
      next: rows.length > limit && last ? encodeCursor(last.time, last.id) : null,
    };
  }

  private query(sql: string): Database.Statement {
    let s = this.queries.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      // At most a few hundred filter combinations exist; the cache stays small.
      this.queries.set(sql, s);
    }
    return s;
  }

  async story(queueId: string): Promise<MessageStory | null> {
    return this.run(() => {
      const row = this.storyEntry.get(queueId);
      const events = this.storyEvents.all(queueId).map((r) => JSON.parse(r.event) as MessageEvent);
      if (!row && events.length === 0) return null;
      const lastState = events.filter((e) => e.kind === 'state').at(-1);
      const entry = row ? (JSON.parse(row.entry) as TransactionEntry) : null;
      return { queueId, entry, events, state: lastState?.state ?? (row?.state as MessageState | null) ?? null };
    });
  }

  async prune(before: number, limit: number): Promise<number> {
    const stmt = this.stmt;
    if (!stmt) throw new MessageLogError(`message log ${this.path} is open read-only`);
    return this.run(() => {
      const rows = stmt.pruneMessages.run(before, limit).changes + stmt.pruneEvents.run(before, limit).changes;
      this.rollups.prune(before);
      return rows;
    });
  }

  async lookup(queueIds: readonly string[]): Promise<MessageSummary[]> {
    return lookupEach(this, queueIds);
  }

  async counts(since: number, until: number, bucketMs: number): Promise<CountSeries> {
    return this.run(() => this.rollups.counts(since, until, bucketMs));
  }

  async topSymbols(since: number, limit: number): Promise<SymbolCount[]> {
    return this.run(() => this.rollups.topSymbols(since, limit));
  }

  async top(field: 'clientIp' | 'senderDomain', since: number, limit: number): Promise<TopValue[]> {
    return this.run(() => this.rollups.top(field, since, limit));
  }

  async relays(): Promise<RelayStatus[]> {
    return this.run(() => this.rollups.relays());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
