/**
 * `moat store migrate --from sqlite:FILE --to redis://…|postgres://…`: moves a node's embedded
 * stores into the cluster stores, once, with the gateway stopped (docs/scaling.md).
 * - state.db → Redis: every live key with its remaining lifetime (SET … PXAT, the same absolute
 *   expiry), under the key prefix given (default: the schema's "moat:"); expired rows are skipped.
 * - bayes.db → Redis: every token's counts and last-learned time, the totals and the learned
 *   message ids, into the keys of src/store/redis/bayes.ts under the key prefix; refused when the
 *   target already holds learned messages (counts would be added twice).
 * - store.db → PostgreSQL: the console's users (with their password hashes and roles; a name the
 *   target already has is kept as it is there, so a second run, or a second node's file, only adds;
 *   sessions are not copied: users log in again), then the message log (entries, then events in
 *   their order, so every message ends in the same state), marked with the node name given; the log
 *   is refused when the target log already holds entries (a second run would duplicate them). A
 *   file with users only (dataDir/admin.db of an earlier cluster release) copies just those.
 *   With --quarantine DIR, the directory quarantine's records too (each validated; one already
 *   there is skipped).
 * Trusts: the SQLite file (ours), opened read-only. Fails: with the store's error and exit 1; what
 * was copied before the error stays copied (Redis keys are idempotent; re-run the log on an empty target).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import type { LogRecord, MessageEvent, TransactionEntry } from '../store/message-log.js';
import { BAYES_KEYS } from '../store/redis/bayes.js';
import { PostgresMessageLog } from '../store/postgres/message-log.js';
import { PostgresQuarantine } from '../quarantine/postgres.js';
import { isAdminRole } from '../store/admin.js';
import { PostgresAdminStore } from '../store/postgres/admin.js';

export interface MigrateOptions {
  readonly from: string;
  readonly to: string;
  readonly keyPrefix: string;
  readonly node: string;
  readonly quarantine?: string;
  readonly stagingDir: string;
}

const BATCH = 500;

export async function migrateStore(o: MigrateOptions, out: (line: string) => void): Promise<void> {
  if (!o.from.startsWith('sqlite:') || o.from.length <= 'sqlite:'.length) throw new Error('--from must be "sqlite:/path/to/file.db"');
  const db = new Database(o.from.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
  try {
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    if (/^rediss?:\/\//.test(o.to) && tables.has('tokens') && tables.has('learned')) {
      const [tokens, learned] = await copyBayes(db, o.to, o.keyPrefix);
      out(`bayes: ${tokens} tokens and ${learned} learned messages copied`);
    } else if (/^rediss?:\/\//.test(o.to)) {
      if (!tables.has('kv')) throw new Error(`${o.from} is not a state store (no kv table)`);
      out(`state: ${await copyState(db, o.to, o.keyPrefix)} live keys copied`);
    } else if (/^postgres(ql)?:\/\//.test(o.to)) {
      if (!tables.has('log_messages') && !tables.has('admin_users')) throw new Error(`${o.from} is not a message store (no log_messages or admin_users table)`);
      if (tables.has('admin_users')) {
        const [added, kept] = await copyUsers(db, o.to);
        out(`console users: ${added} copied${kept > 0 ? `, ${kept} already there (kept)` : ''}`);
      }
      if (tables.has('log_messages')) {
        const [entries, events] = await copyLog(db, o.to, o.node);
        out(`message log: ${entries} entries and ${events} events copied`);
      }
      if (o.quarantine !== undefined) out(`quarantine: ${await copyQuarantine(o.quarantine, o)} messages copied`);
    } else {
      throw new Error('--to must be a redis:// or postgres:// URL');
    }
  } finally {
    db.close();
  }
}

async function copyState(db: Database.Database, url: string, keyPrefix: string): Promise<number> {
  const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  let n = 0;
  try {
    const rows = db.prepare('SELECT key, value, expires FROM kv WHERE expires > ?').iterate(Date.now()) as IterableIterator<{ key: string; value: string; expires: number }>;
    let batch = redis.pipeline();
    let size = 0;
    for (const r of rows) {
      batch.set(r.key, r.value, 'PXAT', r.expires);
      n++;
      if (++size === BATCH) {
        await batch.exec();
        batch = redis.pipeline();
        size = 0;
      }
    }
    if (size > 0) await batch.exec();
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return n;
}

async function copyBayes(db: Database.Database, url: string, keyPrefix: string): Promise<[number, number]> {
  const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    const [spam, ham] = await redis.hmget(BAYES_KEYS.totals, 'spam', 'ham');
    if (Number(spam ?? 0) + Number(ham ?? 0) > 0) throw new Error('the target Redis already holds learned Bayes messages: refusing to add the counts twice');
    let batch = redis.pipeline();
    let size = 0;
    const flush = async (force: boolean): Promise<void> => {
      if (size === 0 || (!force && size < BATCH)) return;
      const failed = ((await batch.exec()) ?? []).find(([err]) => err !== null);
      if (failed?.[0]) throw failed[0];
      batch = redis.pipeline();
      size = 0;
    };
    // 64-bit token ids: read as BigInt (a Number would round them into other tokens).
    const rows = db.prepare('SELECT id, spam, ham, atime FROM tokens').safeIntegers(true).iterate() as IterableIterator<{ id: bigint; spam: bigint; ham: bigint; atime: bigint }>;
    let tokens = 0;
    for (const r of rows) {
      const t = String(r.id);
      if (r.spam > 0n) batch.hset(BAYES_KEYS.spam, t, String(r.spam));
      if (r.ham > 0n) batch.hset(BAYES_KEYS.ham, t, String(r.ham));
      batch.zadd(BAYES_KEYS.atime, 'GT', String(r.atime), t);
      tokens++;
      size++;
      await flush(false);
    }
    let learned = 0;
    for (const r of db.prepare('SELECT id, class FROM learned').iterate() as IterableIterator<{ id: string; class: string }>) {
      batch.hset(BAYES_KEYS.learned, r.id, r.class);
      learned++;
      size++;
      await flush(false);
    }
    const t = db.prepare('SELECT spam, ham FROM totals WHERE k = 0').get() as { spam: number; ham: number } | undefined;
    // The totals last: a run cut short leaves them at zero, so the refusal above does not stop a re-run.
    batch.hset(BAYES_KEYS.totals, 'spam', String(t?.spam ?? 0), 'ham', String(t?.ham ?? 0));
    size++;
    await flush(true);
    return [tokens, learned];
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function copyUsers(db: Database.Database, url: string): Promise<[number, number]> {
  const store = new PostgresAdminStore({ url, poolSize: 1, statementTimeoutMs: 60_000 });
  let added = 0;
  let kept = 0;
  try {
    const rows = db.prepare('SELECT name, role, password_hash, created_at, updated_at FROM admin_users ORDER BY name').all() as {
      name: string;
      role: string;
      password_hash: string;
      created_at: number;
      updated_at: number;
    }[];
    for (const r of rows) {
      if (!isAdminRole(r.role)) throw new Error(`user ${r.name}: unknown role ${r.role}`);
      if (await store.addUserIfAbsent({ name: r.name, role: r.role, passwordHash: r.password_hash, createdAt: r.created_at, updatedAt: r.updated_at })) added++;
      else kept++;
    }
  } finally {
    await store.close();
  }
  return [added, kept];
}

async function copyLog(db: Database.Database, url: string, node: string): Promise<[number, number]> {
  const log = new PostgresMessageLog({ url, node, poolSize: 2, statementTimeoutMs: 60_000 });
  try {
    if ((await log.search({ limit: 1 })).items.length > 0) throw new Error('the target message log is not empty: refusing to copy twice');
    const entries = db.prepare('SELECT entry FROM log_messages ORDER BY id').iterate() as IterableIterator<{ entry: string }>;
    const events = db.prepare('SELECT event FROM log_events ORDER BY id').iterate() as IterableIterator<{ event: string }>;
    const write = async (records: Iterable<LogRecord>): Promise<number> => {
      let batch: LogRecord[] = [];
      let n = 0;
      for (const r of records) {
        batch.push(r);
        n++;
        if (batch.length === BATCH) {
          await log.write(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await log.write(batch);
      return n;
    };
    const e = await write((function* () {
      for (const r of entries) yield { kind: 'transaction' as const, entry: JSON.parse(r.entry) as TransactionEntry };
    })());
    const v = await write((function* () {
      for (const r of events) yield JSON.parse(r.event) as MessageEvent;
    })());
    return [e, v];
  } finally {
    await log.close();
  }
}

async function copyQuarantine(dir: string, o: MigrateOptions): Promise<number> {
  const q = new PostgresQuarantine({ url: o.to, node: o.node, poolSize: 2, statementTimeoutMs: 60_000, stagingDir: o.stagingDir });
  let n = 0;
  try {
    for (const name of (await readdir(dir)).filter((x) => x.endsWith('.msg'))) {
      if (await q.import(await readFile(join(dir, name)), o.node)) n++;
    }
  } finally {
    await q.close();
  }
  return n;
}
