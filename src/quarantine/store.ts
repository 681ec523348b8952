/**
 * The embedded quarantine: a directory of message records in the spool's own self-validating format
 * (src/queue/record.ts), each with its envelope, added headers and verdict. A quarantined message is
 * made durable exactly like a spooled one (fdatasync, rename, directory fsync) before its 250, so
 * quarantine loses nothing either. Release moves the record into a spool shard (a rename on the same
 * file system) for delivery without re-filtering; delete removes it; expiry removes records older
 * than the retention. Listing reads only each record's envelope; release validates the whole record.
 */
import { open, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySync } from '../platform/durable.js';
import { MAX_TRAILER, parseTrailer, RECORD_MAGIC, type Envelope } from '../queue/record.js';
import { loadRecordFile, type Spool, type SpoolWriter, type StoredMessage } from '../queue/spool.js';

export interface QuarantineItem {
  readonly envelope: Envelope;
  /** Octets of the stored content. */
  readonly size: number;
}

export const ID_RE = /^[0-9A-Za-z]{1,40}$/;

/**
 * The quarantine as the gateway and the CLI use it: this directory store (one node) or the
 * PostgreSQL one (src/quarantine/postgres.ts: several nodes, any node releases any message).
 */
export interface Quarantine {
  init(): Promise<void>;
  keep(writer: SpoolWriter, envelope: Envelope, eightBit: boolean): Promise<void>;
  list(): Promise<QuarantineItem[]>;
  count(): Promise<number>;
  load(id: string): Promise<StoredMessage | null>;
  head(id: string, limit: number): Promise<string | null>;
  /** The stored content, at most `limit` octets (for training Bayes on it), or null. */
  content(id: string, limit: number): Promise<Buffer | null>;
  /** One message with its content, fully validated, or null. */
  read(id: string): Promise<{ message: StoredMessage; content: Buffer } | null>;
  /** Releases a message to one of its recipients only (a digest link); null: no such message or recipient. */
  releaseTo(id: string, address: string, spool: Spool, copyId: string): Promise<{ message: StoredMessage; copy: boolean } | null>;
  delete(id: string): Promise<boolean>;
  /** Puts the message into `spool` (this node's) for delivery; null when there is no such message. */
  release(id: string, spool: Spool): Promise<StoredMessage | null>;
  expire(before: number): Promise<number>;
  close(): Promise<void>;
}

export class QuarantineStore implements Quarantine {
  private readonly dirSync: DirectorySync;

  constructor(readonly dir: string) {
    this.dirSync = new DirectorySync(dir);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private path(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`bad queue id ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.msg`);
  }

  /** Finishes a message being received into the quarantine instead of the spool. */
  async keep(writer: SpoolWriter, envelope: Envelope, eightBit: boolean): Promise<void> {
    await writer.finish(envelope, eightBit, { path: this.path(envelope.id), dirSync: this.dirSync });
  }

  /** Every quarantined message, newest first (envelopes only: cheap). */
  async list(): Promise<QuarantineItem[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.msg'));
    const items: QuarantineItem[] = [];
    for (const n of names) {
      const item = await readEnvelope(join(this.dir, n));
      if (item) items.push(item);
    }
    return items.sort((a, b) => b.envelope.receivedAt - a.envelope.receivedAt);
  }

  /** How many messages are in quarantine (names only: cheap). */
  async count(): Promise<number> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.msg')).length;
  }

  /** One message, fully validated, or null. */
  async load(id: string): Promise<StoredMessage | null> {
    const r = await loadRecordFile(this.path(id));
    return 'envelope' in r ? r : null;
  }

  /** The first octets of a message's content (its header, for a preview), or null. */
  async head(id: string, limit: number): Promise<string | null> {
    let fh;
    try {
      fh = await open(this.path(id), 'r');
      const buf = Buffer.alloc(limit);
      const { bytesRead } = await fh.read(buf, 0, limit, RECORD_MAGIC.length);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      return end >= 0 ? text.slice(0, end + 2) : text;
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  }

  /** The stored content, at most `limit` octets (for training Bayes on it), or null. */
  async content(id: string, limit: number): Promise<Buffer | null> {
    const m = await this.load(id);
    if (!m) return null;
    const fh = await open(this.path(id), 'r');
    try {
      const buf = Buffer.alloc(Math.min(limit, m.contentLength));
      const { bytesRead } = await fh.read(buf, 0, buf.length, m.contentOffset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async delete(id: string): Promise<boolean> {
    try {
      await unlink(this.path(id));
      await this.dirSync.sync();
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /**
   * Moves a message into the spool for delivery (null when there is no such valid message). The
   * spool directory is synced before the quarantine one: a crash in between leaves the message in
   * the spool, never nowhere.
   */
  async release(id: string, spool: Spool): Promise<StoredMessage | null> {
    const m = await this.load(id);
    if (!m) return null;
    try {
      await rename(this.path(id), spool.messagePath(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // released by another worker meanwhile
      throw e;
    }
    await spool.dirSync.sync();
    await this.dirSync.sync();
    return m;
  }

  /** One message with its content, fully validated, or null. */
  async read(id: string): Promise<{ message: StoredMessage; content: Buffer } | null> {
    const m = await this.load(id);
    if (!m) return null;
    const data = await readFile(this.path(id)).catch(() => null);
    if (!data) return null;
    return { message: m, content: data.subarray(m.contentOffset, m.contentOffset + m.contentLength) };
  }

  /**
   * Releases a message to one of its recipients only (a digest link). For its only recipient this
   * is `release`; otherwise a copy for that recipient goes into the spool under `copyId` (durable
   * first), then the quarantined record is rewritten without that recipient. A crash in between
   * may deliver that copy and keep the recipient in quarantine: a later release repeats a
   * delivery, never loses one. null: no such message or recipient.
   */
  async releaseTo(id: string, address: string, spool: Spool, copyId: string): Promise<{ message: StoredMessage; copy: boolean } | null> {
    const r = await this.read(id);
    if (!r) return null;
    const env = r.message.envelope;
    const wanted = address.toLowerCase();
    const mine = env.recipients.filter((x) => x.address.toLowerCase() === wanted);
    if (mine.length === 0) return null;
    if (mine.length === env.recipients.length) {
      const m = await this.release(id, spool);
      return m ? { message: m, copy: false } : null;
    }
    const copy = spool.createWriter(copyId);
    await copy.write([r.content]);
    const message = await copy.finish({ ...env, id: copyId, recipients: mine }, r.message.eightBit);
    const rest = spool.createWriter(id);
    await rest.write([r.content]);
    await rest.finish({ ...env, recipients: env.recipients.filter((x) => x.address.toLowerCase() !== wanted) }, r.message.eightBit, { path: this.path(id), dirSync: this.dirSync });
    return { message, copy: true };
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Deletes messages received before `before`; returns how many. */
  async expire(before: number): Promise<number> {
    let n = 0;
    for (const item of await this.list()) {
      if (item.envelope.receivedAt < before && (await this.delete(item.envelope.id))) n++;
    }
    return n;
  }
}

/** Reads a record's envelope from its end (trailer, then the envelope), without the content. */
async function readEnvelope(path: string): Promise<QuarantineItem | null> {
  let fh;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    if (size <= RECORD_MAGIC.length) return null;
    const tail = Buffer.alloc(Math.min(MAX_TRAILER, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    const t = parseTrailer(tail);
    if (!t) return null;
    const json = Buffer.alloc(t.envelopeLength);
    await fh.read(json, 0, json.length, size - t.length - t.envelopeLength);
    const envelope = JSON.parse(json.toString('utf8')) as Envelope;
    return envelope.v === 2 && typeof envelope.id === 'string' ? { envelope, size: t.contentLength } : null;
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}
