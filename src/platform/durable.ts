/**
 * The fsync discipline behind "250 means on disk" (DESIGN.md §5): file data is fdatasync'ed before the
 * rename, and the directory is fsync'ed after it so the rename itself survives a crash. Directory syncs
 * are group-committed: every rename that happened before a sync started is covered by it, so a hundred
 * concurrent messages cost one directory fsync, not a hundred.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class DirectorySync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

  /** Resolves once a directory fsync that started after this call has completed. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.syncOnce().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    // One is in flight and may have started before our rename: join the next one.
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  private startQueued(): Promise<void> {
    this.queued = null;
    return this.sync();
  }

  private async syncOnce(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** Writes a whole small file durably: temp file, fdatasync, rename, directory fsync. */
export async function writeFileDurably(
  tmpPath: string,
  finalPath: string,
  data: Buffer | string,
  dirSync: DirectorySync,
  rename: (a: string, b: string) => Promise<void>,
): Promise<void> {
  let fh: FileHandle | null = await open(tmpPath, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
    await fh.close();
    fh = null;
    await rename(tmpPath, finalPath);
    await dirSync.sync();
  } finally {
    await fh?.close();
  }
}
