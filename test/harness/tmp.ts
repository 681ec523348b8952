// Scratch directories for test peers.
// Trusts: os.tmpdir() is local and writable. Every directory is made with mkdtemp and then
// chmod 755, because mkdtemp's 0700 keeps the postfix/nobody users out (Postfix dies with
// "open lock file .../master.lock: Permission denied").
// Fails: by throwing the fs error. Cleanup never throws; set MOAT_KEEP_TEST_DIRS=1 to keep them.
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** Creates a fresh directory under the system temp dir, mode 0755, and remembers it for cleanup. */
export async function makeScratchDir(prefix = 'moat-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  made.add(dir);
  return dir;
}

/** Removes one scratch dir (recursively). Kept when MOAT_KEEP_TEST_DIRS=1. */
export async function removeScratchDir(dir: string): Promise<void> {
  made.delete(dir);
  if (process.env['MOAT_KEEP_TEST_DIRS'] === '1') return;
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Removes every scratch dir this process made and has not removed yet. */
export async function removeAllScratchDirs(): Promise<void> {
  await Promise.all([...made].map((d) => removeScratchDir(d)));
}

export interface SystemUser {
  readonly uid: number;
  readonly gid: number;
}

/** uid/gid of a local user from /etc/passwd (e.g. "nobody", "postfix"), without NSS lookups. */
export async function systemUser(name: string): Promise<SystemUser> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`no user ${name} in /etc/passwd`);
}

/** Creates `dir` (and parents) owned by the given local user, mode 0755. Needs root to chown. */
export async function makeDirOwnedBy(dir: string, user: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) {
    const u = await systemUser(user);
    await chown(dir, u.uid, u.gid);
  }
}
