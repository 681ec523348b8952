/**
 * `moat spool move --from DIR --config FILE`: moves a dead node's spool (its disk mounted here, or
 * a copy) into this node's spool, so that this node delivers the messages the dead one had
 * accepted (docs/scaling.md, "A dead node and its spool"). DIR is a spool root (shard-N
 * directories) or one shard directory. Each source shard becomes a new shard of this node, numbered
 * after the highest one in use (a worker delivers every shard s with s % workers == its index),
 * picked up at the gateway's next start. Per message: the record is validated first (magic,
 * lengths, checksum, envelope; a torn one is left where it is and reported), then its delivery
 * state (recipients already done) and then its record are written durably into the new shard
 * (temp file, fdatasync, rename, directory fsync), owned like this node's spool, and only then
 * removed from the source — so a crash in between leaves a message in both places (delivered
 * twice at worst, never lost), and a finished move leaves nothing for the dead node to deliver.
 * Trusts: the records' own checksums. Fails: exit 1 with the error; what was moved stays moved.
 */
import { chown, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileDurably } from '../platform/durable.js';
import { loadRecordFile, Spool } from '../queue/spool.js';

export interface MovedShard {
  readonly from: string;
  readonly to: string;
  readonly messages: number;
  /** Records that failed validation, left in the source. */
  readonly corrupt: readonly string[];
}

const SHARD = /^shard-(\d+)$/;

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
}

/** The shard directories of a spool root, or the directory itself when it holds records. */
async function sourceShards(from: string): Promise<string[]> {
  const entries = await names(from);
  if (entries.length === 0 && !(await stat(from).catch(() => null))?.isDirectory()) throw new Error(`${from}: no such directory`);
  const shards = entries.filter((n) => SHARD.test(n)).map((n) => join(from, n));
  if (shards.length > 0) return shards;
  if (entries.some((n) => n.endsWith('.msg'))) return [from];
  return [];
}

async function removeIfThere(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

export async function moveSpool(from: string, spoolRoot: string): Promise<MovedShard[]> {
  const src = resolve(from);
  const dst = resolve(spoolRoot);
  if (src === dst || src.startsWith(`${dst}/`) || dst.startsWith(`${src}/`)) throw new Error(`--from ${from} is this node's own spool (${spoolRoot})`);
  await mkdir(dst, { recursive: true, mode: 0o700 });
  const owner = await stat(dst);
  const own = async (path: string): Promise<void> => {
    if (process.getuid?.() === 0) await chown(path, owner.uid, owner.gid);
  };
  const used = (await names(dst)).map((n) => SHARD.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number);
  let next = Math.max(-1, ...used) + 1;
  const moved: MovedShard[] = [];
  for (const shardDir of await sourceShards(src)) {
    const records = (await names(shardDir)).filter((n) => n.endsWith('.msg')).sort();
    if (records.length === 0) continue;
    const target = new Spool(dst, next++);
    await target.init();
    for (const d of [target.dir, join(target.dir, 'tmp'), join(target.dir, 'corrupt')]) await own(d);
    let messages = 0;
    const corrupt: string[] = [];
    for (const name of records) {
      const id = name.slice(0, -'.msg'.length);
      const file = join(shardDir, name);
      const r = await loadRecordFile(file);
      if (!('envelope' in r)) {
        corrupt.push(`${name} (${r.problem})`);
        continue;
      }
      const stateFile = join(shardDir, `${id}.state`);
      const state = await readFile(stateFile).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
      });
      if (state !== null) {
        await writeFileDurably(target.tmpPath(`${id}.state`), target.statePath(id), state, target.dirSync, rename);
        await own(target.statePath(id));
      }
      await writeFileDurably(target.tmpPath(id), target.messagePath(id), await readFile(file), target.dirSync, rename);
      await own(target.messagePath(id));
      await removeIfThere(file);
      await removeIfThere(stateFile);
      messages++;
    }
    moved.push({ from: shardDir, to: target.dir, messages, corrupt });
  }
  return moved;
}

/** The command: prints one line per shard; exit 1 when a record could not be moved. */
export async function spoolMoveCommand(from: string, spoolRoot: string, out: (line: string) => void): Promise<number> {
  const moved = await moveSpool(from, spoolRoot);
  let corrupt = 0;
  for (const m of moved) {
    out(`${m.from} → ${m.to}: ${m.messages} message(s) moved${m.corrupt.length > 0 ? `, ${m.corrupt.length} torn record(s) left in place: ${m.corrupt.join(', ')}` : ''}`);
    corrupt += m.corrupt.length;
  }
  const total = moved.reduce((n, m) => n + m.messages, 0);
  out(total === 0 ? `nothing to move in ${from}` : `${total} message(s) moved into ${spoolRoot}; (re)start the gateway on this node to deliver them`);
  return corrupt > 0 ? 1 : 0;
}
