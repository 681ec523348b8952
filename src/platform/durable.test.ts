import { existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectorySync, writeFileDurably } from './durable.js';

/**
 * Directory fsyncs are made observable and controllable: every FileHandle opened on a watched
 * directory gets a sync() that records itself and waits for the test to release it (or fail it).
 */
const ctl = vi.hoisted(() => ({
  watched: new Set<string>(),
  events: [] as string[],
  syncs: [] as { release(): void; fail(e: Error): void }[],
  hold: false,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof real.open>): Promise<FileHandle> => {
    const fh = await real.open(...args);
    if (!ctl.watched.has(String(args[0]))) return fh;
    const n = ctl.syncs.length + 1;
    const realSync = fh.sync.bind(fh);
    fh.sync = async () => {
      ctl.events.push(`sync ${n} start`);
      if (ctl.hold) {
        await new Promise<void>((release, fail) => ctl.syncs.push({ release, fail }));
      } else {
        ctl.syncs.push({ release: () => undefined, fail: () => undefined });
      }
      await realSync();
      ctl.events.push(`sync ${n} end`);
    };
    return fh;
  };
  return { ...real, open, default: { ...real, open } };
});

async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-durable-'));
  ctl.watched.clear();
  ctl.watched.add(dir);
  ctl.events.length = 0;
  ctl.syncs.length = 0;
  ctl.hold = false;
});
afterEach(async () => {
  ctl.hold = false;
  for (const s of ctl.syncs) s.release();
  await rm(dir, { recursive: true, force: true });
});

describe('DirectorySync', () => {
  it('a call made while a sync runs waits for the next sync, and all waiting calls share it', async () => {
    ctl.hold = true;
    const ds = new DirectorySync(dir);
    const done: string[] = [];
    const track = (name: string, p: Promise<void>): Promise<void> => p.then(() => void done.push(name), (e: unknown) => void done.push(`${name} failed ${String(e)}`));

    const first = track('A', ds.sync());
    await until(() => ctl.syncs.length === 1, 'first sync running');
    const later = ['B', 'C', 'D'].map((n) => track(n, ds.sync()));
    await settle();
    expect(ctl.syncs).toHaveLength(1); // nobody started a second one while the first runs

    ctl.syncs[0]?.release();
    await first;
    expect(done).toEqual(['A']); // B, C, D arrived after sync 1 started: it does not cover them
    await until(() => ctl.syncs.length === 2, 'second sync running');
    await settle();
    expect(done).toEqual(['A']);

    ctl.syncs[1]?.release();
    await Promise.all(later);
    expect(done).toEqual(['A', 'B', 'C', 'D']);
    expect(ctl.events).toEqual(['sync 1 start', 'sync 1 end', 'sync 2 start', 'sync 2 end']);
  });

  it('a hundred concurrent calls all resolve with at most two directory fsyncs', async () => {
    const ds = new DirectorySync(dir);
    await Promise.all(Array.from({ length: 100 }, () => ds.sync()));
    expect(ctl.syncs.length).toBeGreaterThanOrEqual(1);
    expect(ctl.syncs.length).toBeLessThanOrEqual(2);
  });

  it('calls made after a sync finished start a new one', async () => {
    const ds = new DirectorySync(dir);
    await ds.sync();
    await ds.sync();
    await ds.sync();
    expect(ctl.syncs).toHaveLength(3);
  });

  it('a failed sync rejects its callers; the calls queued behind it still get a real sync', async () => {
    ctl.hold = true;
    const ds = new DirectorySync(dir);
    const first = ds.sync();
    await until(() => ctl.syncs.length === 1);
    const second = ds.sync();
    ctl.syncs[0]?.fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    await until(() => ctl.syncs.length === 2, 'second sync after the failure');
    ctl.syncs[1]?.release();
    await expect(second).resolves.toBeUndefined();
    ctl.hold = false;
    await expect(ds.sync()).resolves.toBeUndefined();
  });

  it('rejects when the directory is gone', async () => {
    const ds = new DirectorySync(join(dir, 'missing'));
    await expect(ds.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(ds.sync()).rejects.toMatchObject({ code: 'ENOENT' }); // not stuck on the failed one
  });
});

describe('writeFileDurably', () => {
  it('writes the file through a temporary name, then syncs the directory', async () => {
    const ds = new DirectorySync(dir);
    const order: string[] = [];
    const tracedRename = async (a: string, b: string): Promise<void> => {
      order.push('rename');
      await rename(a, b);
    };
    await writeFileDurably(join(dir, 'x.tmp'), join(dir, 'x'), 'content', ds, tracedRename);
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('content');
    expect(existsSync(join(dir, 'x.tmp'))).toBe(false);
    expect(order).toEqual(['rename']);
    expect(ctl.events).toEqual(['sync 1 start', 'sync 1 end']);
  });

  it('leaves the final file untouched when the rename fails', async () => {
    const ds = new DirectorySync(dir);
    await writeFileDurably(join(dir, 'y.tmp'), join(dir, 'y'), 'old', ds, rename);
    const failing = async (): Promise<void> => {
      throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
    };
    await expect(writeFileDurably(join(dir, 'y.tmp'), join(dir, 'y'), 'new', ds, failing)).rejects.toMatchObject({ code: 'EXDEV' });
    expect(await readFile(join(dir, 'y'), 'utf8')).toBe('old');
  });
});
