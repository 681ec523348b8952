/**
 * `moat admin add-user|set-password|delete-user|list-users`: the console's users in the configured
 * store — store.db, or the cluster's PostgreSQL (a user added on one node logs in on every node) —
 * with the gateway running or stopped. The password is never taken from the command line (it would
 * show in `ps` and the shell history): it is asked for twice without echo on a terminal, or read
 * as the first line of standard input (`… < file`, a pipe from a secret manager). At least 12
 * characters. Removing a user or changing a password ends its sessions.
 * Run as root on a dataDir that belongs to Moat's user, a store file this creates is handed to
 * that user, so the gateway can still write it (SQLite only).
 */
import { chown, mkdir, stat } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { hashPassword } from '../admin/password.js';
import { openAdminStore, storePath } from '../main-stores.js';
import { isAdminRole, USER_NAME_RE, type AdminStore } from '../store/admin.js';

const MIN_PASSWORD = 12;

async function readLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const c of stdin as AsyncIterable<Buffer>) {
      text += c.toString('utf8');
      if (text.includes('\n') || text.length > 4096) break;
    }
    return (text.split(/\r?\n/)[0] ?? '').slice(0, 1024);
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let line = '';
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(line);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new Error('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

async function askPassword(): Promise<string> {
  const first = await readLine('Password: ');
  if (process.stdin.isTTY) {
    const again = await readLine('Again: ');
    if (again !== first) throw new Error('the passwords differ');
  }
  if (first.length < MIN_PASSWORD) throw new Error(`the password must have at least ${MIN_PASSWORD} characters`);
  return first;
}

/** Started as root on Moat's dataDir: the store's files go to the dataDir's owner. */
export async function handOver(config: Config): Promise<void> {
  if (process.geteuid?.() !== 0) return;
  const path = storePath(config);
  const owner = await stat(config.dataDir).catch(() => null);
  if (path === null || !owner || owner.uid === 0) return;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) await chown(f, owner.uid, owner.gid).catch(() => undefined);
}

export type AdminCommand =
  | { readonly op: 'add-user'; readonly name: string; readonly role: string }
  | { readonly op: 'set-password'; readonly name: string }
  | { readonly op: 'delete-user'; readonly name: string }
  | { readonly op: 'list-users' };

async function run(store: AdminStore, cmd: AdminCommand, json: boolean): Promise<string> {
  const now = Date.now();
  switch (cmd.op) {
    case 'list-users': {
      const users = await store.listUsers();
      if (json) return JSON.stringify(users.map((u) => ({ name: u.name, role: u.role, createdAt: u.createdAt, updatedAt: u.updatedAt })));
      return users.length === 0 ? 'no console users (add one: moat admin add-user NAME --role admin)' : users.map((u) => `${u.name.padEnd(24)} ${u.role.padEnd(9)} since ${new Date(u.createdAt).toISOString()}`).join('\n');
    }
    case 'add-user': {
      if (!USER_NAME_RE.test(cmd.name)) throw new Error('a user name is 1-64 characters of letters, digits and ._@-');
      if (!isAdminRole(cmd.role)) throw new Error('--role must be admin, readonly or helpdesk');
      if (await store.getUser(cmd.name)) throw new Error(`user ${cmd.name} exists (moat admin set-password ${cmd.name} changes its password)`);
      const passwordHash = await hashPassword(await askPassword());
      await store.putUser({ name: cmd.name, role: cmd.role, passwordHash, createdAt: now, updatedAt: now });
      return `user ${cmd.name} added (${cmd.role})`;
    }
    case 'set-password': {
      const u = await store.getUser(cmd.name);
      if (!u) throw new Error(`no user ${cmd.name}`);
      const passwordHash = await hashPassword(await askPassword());
      await store.putUser({ ...u, passwordHash, updatedAt: now });
      await store.deleteSessionsOf(u.name);
      return `password of ${cmd.name} changed; its sessions ended`;
    }
    case 'delete-user':
      if (!(await store.deleteUser(cmd.name))) throw new Error(`no user ${cmd.name}`);
      return `user ${cmd.name} deleted; its sessions ended`;
  }
}

/**
 * Opens a store.db store (dataDir made first), prints what `work` returns, closes the store and
 * hands the files over to Moat's user; errors are one "moat: …" line and exit 1.
 */
export async function withStoreDb<S extends { close(): Promise<void> }>(config: Config, open: (c: Config) => Promise<S>, work: (store: S) => Promise<string>): Promise<number> {
  let store: S;
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    store = await open(config);
  } catch (e) {
    process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    process.stdout.write(`${await work(store)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await store.close();
    await handOver(config);
  }
}

export function adminCommand(config: Config, cmd: AdminCommand, json: boolean): Promise<number> {
  return withStoreDb(config, openAdminStore, (store) => run(store, cmd, json));
}
