/**
 * The cluster quarantine (DESIGN.md §6): quarantined messages live in PostgreSQL, whole records in
 * the spool's self-validating format (src/queue/record.ts), so any node can show, release or delete
 * any node's message. Keeping one: the writer finishes the record into a local staging file exactly
 * as for the spool (fdatasync, rename), the record is inserted (one statement, committed) and only
 * then is the 250 sent and the staging file removed — "250" means in PostgreSQL. Releasing one: the
 * row is locked (SELECT … FOR UPDATE, so two nodes releasing together deliver it once), the record
 * is written durably into the releasing node's spool, then the row is deleted and the transaction
 * committed; a crash in between leaves it in both places (delivered, and still listed: at least
 * once, never lost).
 * Trusts: the records it stored (they are validated again, CRC included, before a release). Fails:
 * a failing PostgreSQL rejects keep() (the session answers 451 4.3.0: the client retries) and every
 * other call; errors never carry the URL's password.
 */
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { DirectorySync, writeFileDurably } from '../platform/durable.js';
import { parseRecord, RECORD_MAGIC, type Envelope } from '../queue/record.js';
import type { Spool, SpoolWriter, StoredMessage } from '../queue/spool.js';
import { createPool, describeUrl } from '../store/postgres/pool.js';
import { migrate, type Migrations } from '../store/postgres/migrate.js';
import { ID_RE, type Quarantine, type QuarantineItem } from './store.js';

export const QUARANTINE_MIGRATIONS: Migrations = {
  component: 'quarantine',
  steps: [
    `CREATE TABLE quarantine (
       id TEXT PRIMARY KEY,
       node TEXT NOT NULL,
       received_at BIGINT NOT NULL,
       size BIGINT NOT NULL,
       envelope JSONB NOT NULL,
       record BYTEA NOT NULL
     );
     CREATE INDEX quarantine_received ON quarantine (received_at);`,
  ],
};

export interface PostgresQuarantineOptions {
  readonly url: string;
  readonly node: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  /** A local directory for records on their way into PostgreSQL. */
  readonly stagingDir: string;
}

export class PostgresQuarantineError extends Error {
  readonly code = 'QUARANTINE_STORE_ERROR';
  readonly transient = true;
}

export class PostgresQuarantine implements Quarantine {
  private readonly pool: pg.Pool;
  private readonly where: string;
  private readonly dirSync: DirectorySync;
  private migrated: Promise<void> | null = null;

  constructor(private readonly o: PostgresQuarantineOptions) {
    this.pool = createPool(o.url, o.poolSize, o.statementTimeoutMs);
    this.where = describeUrl(o.url);
    this.dirSync = new DirectorySync(o.stagingDir);
  }

  private error(e: unknown): PostgresQuarantineError {
    return new PostgresQuarantineError(`quarantine in ${this.where}: ${e instanceof Error ? e.message : String(e)}`);
  }

  private async q<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ready();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw this.error(e);
    }
  }

  /** Creates the staging directory and migrates the schema; a later call retries a failed migration. */
  async init(): Promise<void> {
    await mkdir(this.o.stagingDir, { recursive: true, mode: 0o700 });
    await this.ready();
  }

  private ready(): Promise<void> {
    this.migrated ??= migrate(this.pool, QUARANTINE_MIGRATIONS).then(
      () => undefined,
      (e: unknown) => {
        this.migrated = null;
        throw this.error(e);
      },
    );
    return this.migrated;
  }

  async keep(writer: SpoolWriter, envelope: Envelope, eightBit: boolean): Promise<void> {
    const path = join(this.o.stagingDir, `${checkId(envelope.id)}.msg`);
    try {
      const stored = await writer.finish(envelope, eightBit, { path, dirSync: this.dirSync });
      const record = await readFile(path);
      await this.q(
        'INSERT INTO quarantine (id, node, received_at, size, envelope, record) VALUES ($1, $2, $3, $4, $5, $6)',
        [envelope.id, this.o.node, envelope.receivedAt, stored.contentLength, JSON.stringify(envelope), record],
      );
    } finally {
      await unlink(path).catch(() => undefined);
    }
  }

  /** Stores a record from the directory quarantine (`moat store migrate`); false when it is damaged or already here. */
  async import(record: Buffer, node: string): Promise<boolean> {
    const m = parsed(record);
    if (!m) return false;
    const e = m.envelope;
    const r = await this.q('INSERT INTO quarantine (id, node, received_at, size, envelope, record) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING', [
      checkId(e.id),
      node,
      e.receivedAt,
      m.contentLength,
      JSON.stringify(e),
      record,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async list(): Promise<QuarantineItem[]> {
    const r = await this.q<{ envelope: Envelope; size: string }>('SELECT envelope, size FROM quarantine ORDER BY received_at DESC, id', []);
    return r.rows.map((row) => ({ envelope: row.envelope, size: Number(row.size) }));
  }

  async count(): Promise<number> {
    const r = await this.q<{ n: string }>('SELECT count(*) AS n FROM quarantine', []);
    return Number(r.rows[0]?.n ?? 0);
  }

  async load(id: string): Promise<StoredMessage | null> {
    const r = await this.q<{ record: Buffer }>('SELECT record FROM quarantine WHERE id = $1', [checkId(id)]);
    const row = r.rows[0];
    return row ? parsed(row.record) : null;
  }

  async head(id: string, limit: number): Promise<string | null> {
    const r = await this.q<{ part: Buffer }>('SELECT substring(record FROM $2 FOR $3) AS part FROM quarantine WHERE id = $1', [checkId(id), RECORD_MAGIC.length + 1, limit]);
    const part = r.rows[0]?.part;
    if (!part) return null;
    const text = part.toString('utf8');
    const end = text.indexOf('\r\n\r\n');
    return end >= 0 ? text.slice(0, end + 2) : text;
  }

  async content(id: string, limit: number): Promise<Buffer | null> {
    const r = await this.q<{ record: Buffer }>('SELECT record FROM quarantine WHERE id = $1', [checkId(id)]);
    const record = r.rows[0]?.record;
    const m = record ? parseRecord(record) : null;
    if (!record || m === null || typeof m === 'string') return null;
    return record.subarray(m.contentOffset, m.contentOffset + Math.min(limit, m.contentLength));
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.q('DELETE FROM quarantine WHERE id = $1', [checkId(id)])).rowCount ?? 0) > 0;
  }

  async release(id: string, spool: Spool): Promise<StoredMessage | null> {
    checkId(id);
    await this.ready();
    const c = await this.pool.connect().catch((e: unknown) => {
      throw this.error(e);
    });
    try {
      await c.query('BEGIN');
      const r = await c.query<{ record: Buffer }>('SELECT record FROM quarantine WHERE id = $1 FOR UPDATE', [id]);
      const record = r.rows[0]?.record;
      const m = record ? parsed(record) : null;
      if (!record || !m) {
        await c.query('ROLLBACK');
        return null;
      }
      await writeFileDurably(spool.tmpPath(`${id}.released`), spool.messagePath(id), record, spool.dirSync, rename);
      await c.query('DELETE FROM quarantine WHERE id = $1', [id]);
      await c.query('COMMIT');
      return m;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e instanceof PostgresQuarantineError ? e : this.error(e);
    } finally {
      c.release();
    }
  }

  /** One message with its content, fully validated, or null. */
  async read(id: string): Promise<{ message: StoredMessage; content: Buffer } | null> {
    const r = await this.q<{ record: Buffer }>('SELECT record FROM quarantine WHERE id = $1', [checkId(id)]);
    const record = r.rows[0]?.record;
    const m = record ? parsed(record) : null;
    if (!record || !m) return null;
    return { message: m, content: record.subarray(m.contentOffset, m.contentOffset + m.contentLength) };
  }

  /**
   * Releases a message to one of its recipients only (a digest link), as the directory store does:
   * the copy for that recipient is made durable in this node's spool before the row, locked
   * meanwhile, is rewritten without that recipient (a crash in between repeats a delivery, never
   * loses one). null: no such message or recipient.
   */
  async releaseTo(id: string, address: string, spool: Spool, copyId: string): Promise<{ message: StoredMessage; copy: boolean } | null> {
    const current = await this.read(id);
    if (!current) return null;
    const wanted = address.toLowerCase();
    const env = current.message.envelope;
    const mine = env.recipients.filter((x) => x.address.toLowerCase() === wanted);
    if (mine.length === 0) return null;
    if (mine.length === env.recipients.length) {
      const m = await this.release(id, spool);
      return m ? { message: m, copy: false } : null;
    }
    const c = await this.pool.connect().catch((e: unknown) => {
      throw this.error(e);
    });
    const staged = join(this.o.stagingDir, `${checkId(id)}.rest.msg`);
    try {
      await c.query('BEGIN');
      const r = await c.query<{ record: Buffer }>('SELECT record FROM quarantine WHERE id = $1 FOR UPDATE', [id]);
      const record = r.rows[0]?.record;
      const m = record ? parsed(record) : null;
      if (!record || !m || !m.envelope.recipients.some((x) => x.address.toLowerCase() === wanted)) {
        await c.query('ROLLBACK');
        return null;
      }
      const content = record.subarray(m.contentOffset, m.contentOffset + m.contentLength);
      const copy = spool.createWriter(copyId);
      await copy.write([content]);
      const message = await copy.finish({ ...m.envelope, id: copyId, recipients: m.envelope.recipients.filter((x) => x.address.toLowerCase() === wanted) }, m.eightBit);
      const restEnvelope = { ...m.envelope, recipients: m.envelope.recipients.filter((x) => x.address.toLowerCase() !== wanted) };
      const rest = spool.createWriter(id);
      await rest.write([content]);
      await rest.finish(restEnvelope, m.eightBit, { path: staged, dirSync: this.dirSync });
      await c.query('UPDATE quarantine SET record = $2, envelope = $3 WHERE id = $1', [id, await readFile(staged), JSON.stringify(restEnvelope)]);
      await c.query('COMMIT');
      return { message, copy: true };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e instanceof PostgresQuarantineError ? e : this.error(e);
    } finally {
      c.release();
      await unlink(staged).catch(() => undefined);
    }
  }

  async expire(before: number): Promise<number> {
    return (await this.q('DELETE FROM quarantine WHERE received_at < $1', [before])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new Error(`bad queue id ${JSON.stringify(id)}`);
  return id;
}

/** A stored record, validated (CRC included), as the spool loads one; null when it is damaged. */
function parsed(record: Buffer): StoredMessage | null {
  const r = parseRecord(record);
  return typeof r === 'string' ? null : { ...r, content: null };
}
