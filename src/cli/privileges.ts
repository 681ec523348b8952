/**
 * Least privilege for `moat start` (DESIGN.md §1, §4). Started as root, Moat binds its listeners and
 * then becomes the configured `user` (supplementary groups, then gid, then uid; in that order, since
 * each step needs the privilege the next one drops) before any worker is forked or any session
 * served; it checks that root cannot be regained. Without `user`, starting as root is refused unless
 * `allowRoot` says root is not the host's root (a user-namespaced container).
 * Trusts: the system's user database through getent (NSS), the kernel's setuid semantics.
 * Fails: with a StartupError whose message tells the operator what to change; nothing is half-done
 * except the dataDir directory itself, which is created (mode 0700) and given to the user first.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../config/schema.js';

const run = promisify(execFile);

export class StartupError extends Error {
  readonly code = 'STARTUP';
  readonly transient = false;
}

export interface Account {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: gid and the groups the system lists the user in (never 0). */
  readonly groups: readonly number[];
}

export type PrivilegePlan =
  | { readonly kind: 'drop'; readonly user: string; readonly group: string | undefined }
  | { readonly kind: 'root' }
  | { readonly kind: 'as-is'; readonly mismatch: string | null };

/** What to do about privileges, from the config and who we are. */
export function privilegePlan(c: Config, euid: number, currentUser: () => string): PrivilegePlan {
  if (euid === 0) {
    if (c.user !== undefined) return { kind: 'drop', user: c.user, group: c.group };
    if (c.allowRoot) return { kind: 'root' };
    throw new StartupError(
      'refusing to run as root: set `user:` (e.g. "user: moat") so Moat drops root once its ports are bound, ' +
        'start it as that user with CAP_NET_BIND_SERVICE (deploy/moat.service), or set `allowRoot: true` ' +
        'where root is not the host\'s root (a user-namespaced container)',
    );
  }
  const me = currentUser();
  const wanted = c.user;
  const mismatch = wanted !== undefined && wanted !== me && wanted !== String(euid) ? `configured user ${wanted}, but started as ${me} (not root, so no switch)` : null;
  return { kind: 'as-is', mismatch };
}

async function getent(db: 'passwd' | 'group', key: string): Promise<string[] | null> {
  try {
    const { stdout } = await run('/usr/bin/getent', [db, key], { timeout: 10_000 });
    const line = stdout.split('\n')[0];
    return line ? line.split(':') : null;
  } catch {
    return null; // exit 2: no such entry
  }
}

/** Looks the user (and group) up in the system's database. */
export async function resolveAccount(user: string, group: string | undefined): Promise<Account> {
  const pw = await getent('passwd', user);
  if (!pw || pw[0] === undefined) throw new StartupError(`user: no user ${JSON.stringify(user)} on this system (create it, e.g. useradd --system --home-dir /var/lib/moat --shell /usr/sbin/nologin moat)`);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  if (group !== undefined) {
    const gr = await getent('group', group);
    if (!gr) throw new StartupError(`group: no group ${JSON.stringify(group)} on this system`);
    gid = Number(gr[2]);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new StartupError(`user: unreadable account entry for ${user}`);
  if (uid === 0) throw new StartupError(`user: ${user} is root (uid 0); name an unprivileged user`);
  if (gid === 0) throw new StartupError(`group: gid 0 (root's group) is not an unprivileged group`);
  // The user's own supplementary groups (e.g. ssl-cert, to read a key in /etc/ssl/private), no others.
  let member: number[];
  try {
    member = (await run('/usr/bin/id', ['-G', pw[0]], { timeout: 10_000 })).stdout.trim().split(/\s+/).map(Number);
  } catch {
    throw new StartupError(`user: cannot list the groups of ${pw[0]}`);
  }
  return { user: pw[0], uid, gid, groups: [...new Set([gid, ...member])].filter((g) => Number.isInteger(g) && g !== 0) };
}

/**
 * dataDir belongs to the user, mode 0700: created if missing, else given to the user. Anything
 * inside owned by someone else (left by an earlier run as root) stops the start with the command
 * to fix it: a recursive chown by root inside a directory the user controls could be turned
 * (hard links, swapped symlinks) into taking over files elsewhere.
 */
export async function prepareDataDir(dir: string, a: Account): Promise<void> {
  // Parents the user must be able to pass through; the directory itself is the user's alone.
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new StartupError(`dataDir: ${dir} is not a directory (a symlink is not accepted while running as root)`);
  const stranger = await foreignEntry(dir, a, 0);
  if (stranger) {
    throw new StartupError(`dataDir: ${stranger} is not owned by ${a.user}; run: chown -R ${a.uid}:${a.gid} ${dir}`);
  }
  if (st.uid !== a.uid || st.gid !== a.gid) await chown(dir, a.uid, a.gid);
  await chmod(dir, 0o700);
}

async function foreignEntry(dir: string, a: Account, depth: number): Promise<string | null> {
  if (depth > 8) return null;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = await lstat(p);
    if (st.uid !== a.uid) return p;
    if (e.isDirectory()) {
      const deeper = await foreignEntry(p, a, depth + 1);
      if (deeper) return deeper;
    }
  }
  return null;
}

/** Becomes the account for good: supplementary groups, gid, uid; then proves root is gone. */
export function dropPrivileges(a: Account): void {
  const { setgroups, setgid, setuid } = process;
  if (!setgroups || !setgid || !setuid) throw new StartupError('user: this platform cannot switch users');
  setgroups(a.groups);
  setgid(a.gid);
  setuid(a.uid);
  let regained = false;
  try {
    setuid(0);
    regained = true;
  } catch {
    // EPERM: as it must be
  }
  if (regained || process.getuid?.() !== a.uid || process.geteuid?.() !== a.uid || process.getegid?.() !== a.gid || (process.getgroups?.() ?? []).includes(0)) {
    throw new StartupError(`could not drop root for good (uid ${String(process.getuid?.())}, euid ${String(process.geteuid?.())})`);
  }
}
