/**
 * One shard of the durable spool: a directory of message records (`ID.msg`, immutable) and delivery
 * states (`ID.state`, replaced atomically). A message is written to `tmp/`, fdatasync'ed, renamed into
 * place and the directory fsync'ed before its writer reports success. At startup every record is
 * validated; a torn one is moved to `corrupt/` and reported, never delivered. Errors are typed: a full
 * disk is `SpoolFull` (→ 452 4.3.1), anything else `SpoolError`.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mkdir, open, readdir, readFile, rename, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySync, writeFileDurably } from '../platform/durable.js';
import { encodeEnvelope, encodeTrailer, envelopePart, parseRecord, RECORD_MAGIC, RecordChecksum, type Envelope, type RecordProblem } from './record.js';
import { decodeState, encodeState, type DeliveryState } from './state.js';

export class SpoolError extends Error {
  readonly code: string = 'SPOOL_ERROR';
  readonly transient = true;
}
export class SpoolFull extends SpoolError {
  override readonly code = 'SPOOL_FULL';
}

function wrap(e: unknown): SpoolError {
  if (e instanceof SpoolError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SpoolFull(code);
  return new SpoolError(code ?? String(e));
}

/** unlink, where a missing file is no error (fs.rm goes through rimraf: an lstat more per call). */
async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** Loads and fully validates the record in one file. */
export async function loadRecordFile(path: string): Promise<StoredMessage | { problem: RecordProblem | 'unreadable' }> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    return { problem: 'unreadable' };
  }
  const r = parseRecord(data);
  return typeof r === 'string' ? { problem: r } : { ...r, content: null };
}

/** Messages up to this size are kept in memory after acceptance, for a first delivery without a read. */
const KEEP_IN_MEMORY = 256 * 1024;
const WRITE_BATCH = 128 * 1024;

export interface StoredMessage {
  readonly envelope: Envelope;
  readonly contentOffset: number;
  readonly contentLength: number;
  /** Whether the content holds octets above 127 (BODY=8BITMIME downstream). */
  readonly eightBit: boolean;
  /** The content, when small enough to keep; otherwise read from the file. */
  readonly content: Buffer | null;
}

/** Where a finished record goes: the spool (default) or another durable directory (quarantine). */
export interface RecordTarget {
  readonly path: string;
  readonly dirSync: DirectorySync;
}

export interface CorruptRecord {
  readonly file: string;
  readonly problem: RecordProblem | 'unreadable';
}

/**
 * Writes one record: the content as it arrives (batched), then at finish the envelope — known only
 * after the scan — and the trailer, fdatasync, rename into the spool and a directory fsync.
 */
export class SpoolWriter {
  private fh: FileHandle | null = null;
  private pending: Buffer[] = [RECORD_MAGIC];
  private pendingBytes = RECORD_MAGIC.length;
  private kept: Buffer[] | null = [];
  private contentLength = 0;
  private readonly crc = new RecordChecksum();

  constructor(
    private readonly spool: Spool,
    readonly id: string,
  ) {
    this.crc.update(RECORD_MAGIC);
  }

  /** Octets of content written so far. */
  get size(): number {
    return this.contentLength;
  }

  async write(all: readonly Buffer[]): Promise<void> {
    const chunks = all.filter((c) => c.length > 0);
    for (const c of chunks) {
      this.crc.update(c);
      this.contentLength += c.length;
      this.pending.push(c);
      this.pendingBytes += c.length;
    }
    if (this.kept) {
      if (this.contentLength <= KEEP_IN_MEMORY) this.kept.push(...chunks);
      else this.kept = null;
    }
    if (this.pendingBytes >= WRITE_BATCH) await this.flush();
  }

  /** The first `limit` octets of the content written so far (for the scan, before the 250). */
  async read(limit: number): Promise<Buffer> {
    const n = Math.min(limit, this.contentLength);
    if (this.kept) return Buffer.concat(this.kept, this.contentLength).subarray(0, n);
    await this.flush();
    const fh = await this.handle();
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(out, got, n - got, RECORD_MAGIC.length + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return out.subarray(0, got);
  }

  /** Every octet of the content written so far, as a stream (for scanners that want it all). */
  async *stream(): AsyncIterable<Buffer> {
    if (this.kept) {
      yield* this.kept;
      return;
    }
    await this.flush();
    if (this.contentLength === 0) return;
    yield* createReadStream(this.spool.tmpPath(this.id), { start: RECORD_MAGIC.length, end: RECORD_MAGIC.length + this.contentLength - 1, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
  }

  /** Envelope, trailer, fdatasync, rename into the spool, directory fsync: after this the message is safe. */
  async finish(envelope: Envelope, eightBit: boolean, into: RecordTarget = this.spool.target(envelope.id)): Promise<StoredMessage> {
    try {
      const json = encodeEnvelope(envelope);
      const middle = envelopePart(json);
      for (const m of middle) this.crc.update(m);
      this.pending.push(...middle, encodeTrailer(this.contentLength, json.length, eightBit, this.crc.digest));
      await this.flush();
      const fh = await this.handle();
      await fh.datasync();
      await fh.close();
      this.fh = null;
      await rename(this.spool.tmpPath(this.id), into.path);
      await into.dirSync.sync();
    } catch (e) {
      await this.abort();
      throw wrap(e);
    }
    return {
      envelope,
      contentOffset: RECORD_MAGIC.length,
      contentLength: this.contentLength,
      eightBit,
      content: this.kept ? Buffer.concat(this.kept, this.contentLength) : null,
    };
  }

  async abort(): Promise<void> {
    this.pending = [];
    this.kept = null;
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await unlink(this.spool.tmpPath(this.id)).catch(() => undefined);
  }

  private async handle(): Promise<FileHandle> {
    this.fh ??= await open(this.spool.tmpPath(this.id), 'wx+', 0o600);
    return this.fh;
  }

  private async flush(): Promise<void> {
    try {
      const fh = await this.handle();
      const parts = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      if (parts.length > 0) await fh.writev(parts);
    } catch (e) {
      throw wrap(e);
    }
  }
}

export class Spool {
  readonly dir: string;
  readonly dirSync: DirectorySync;
  private space: { at: number; free: number } | null = null;

  constructor(root: string, readonly shard: number) {
    this.dir = join(root, `shard-${shard}`);
    this.dirSync = new DirectorySync(this.dir);
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.dir, 'corrupt'), { recursive: true, mode: 0o700 });
    // Leftovers in tmp/ never got their 250: the client was told nothing and will retry.
    for (const f of await readdir(join(this.dir, 'tmp'))) await removeFile(join(this.dir, 'tmp', f));
  }

  messagePath(id: string): string {
    return join(this.dir, `${id}.msg`);
  }
  target(id: string): RecordTarget {
    return { path: this.messagePath(id), dirSync: this.dirSync };
  }
  statePath(id: string): string {
    return join(this.dir, `${id}.state`);
  }
  tmpPath(id: string): string {
    return join(this.dir, 'tmp', id);
  }

  createWriter(id: string): SpoolWriter {
    return new SpoolWriter(this, id);
  }

  /** Free octets on the spool's file system, cached for a second (checked at MAIL and DATA). */
  async freeSpace(now: number): Promise<number> {
    if (!this.space || now - this.space.at > 1000) {
      const s = await statfs(this.dir);
      this.space = { at: now, free: s.bavail * s.bsize };
    }
    return this.space.free;
  }

  /** Reads and validates every record; torn ones are moved to corrupt/ and returned as such. */
  async scan(): Promise<{ messages: StoredMessage[]; corrupt: CorruptRecord[] }> {
    const messages: StoredMessage[] = [];
    const corrupt: CorruptRecord[] = [];
    for (const f of (await readdir(this.dir)).filter((n) => n.endsWith('.msg')).sort()) {
      const r = await this.load(f.slice(0, -4));
      if ('envelope' in r) messages.push(r);
      else {
        corrupt.push({ file: f, problem: r.problem });
        await rename(join(this.dir, f), join(this.dir, 'corrupt', f)).catch(() => undefined);
        await rename(this.statePath(f.slice(0, -4)), join(this.dir, 'corrupt', `${f.slice(0, -4)}.state`)).catch(() => undefined);
      }
    }
    const live = new Set(messages.map((m) => m.envelope.id));
    for (const f of (await readdir(this.dir)).filter((n) => n.endsWith('.state'))) {
      if (!live.has(f.slice(0, -6))) await removeFile(join(this.dir, f));
    }
    return { messages, corrupt };
  }

  /** Loads and fully validates one record (magic, lengths, checksum, envelope). */
  load(id: string): Promise<StoredMessage | { problem: RecordProblem | 'unreadable' }> {
    return loadRecordFile(this.messagePath(id));
  }

  /** The message content as a stream (for messages not kept in memory). */
  contentStream(m: StoredMessage): Readable {
    if (m.contentLength === 0) return Readable.from([]);
    return createReadStream(this.messagePath(m.envelope.id), {
      start: m.contentOffset,
      end: m.contentOffset + m.contentLength - 1,
      highWaterMark: 64 * 1024,
    });
  }

  async readState(id: string): Promise<DeliveryState | null> {
    try {
      return decodeState(await readFile(this.statePath(id), 'utf8'));
    } catch {
      return null;
    }
  }

  async writeState(id: string, state: DeliveryState): Promise<void> {
    try {
      await writeFileDurably(join(this.dir, 'tmp', `${id}.state`), this.statePath(id), encodeState(state), this.dirSync, rename);
    } catch (e) {
      throw wrap(e);
    }
  }

  /** Removes a finished message; a state file orphaned by a crash in between is swept at the next scan. */
  async remove(id: string): Promise<void> {
    await removeFile(this.messagePath(id));
    await removeFile(this.statePath(id));
  }

  async ids(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith('.msg')).map((n) => n.slice(0, -4)).sort();
  }
}
