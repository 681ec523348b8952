/**
 * `moat senders list|allow|block|remove`: the run-time sender lists (src/senders) from the shell,
 * with the gateway running or stopped. Entries are written to the store directly (store.db, or
 * the cluster's PostgreSQL) as "cli:USER"; a running gateway is then told over the control socket
 * to re-read them at once (`senders-reload`), else it reads them when it starts.
 * `remove` takes an entry's id or its value.
 */
import { userInfo } from 'node:os';
import type { Config } from '../config/schema.js';
import { openSenderEntries } from '../main-stores.js';
import { MAX_NOTE, parseSenderValue, type SenderEntry, type SenderEntryStore, type SenderListName } from '../senders/entries.js';
import { withStoreDb } from './admin-command.js';
import { askGateway } from './control-client.js';

export type SendersCommand =
  | { readonly op: 'list' }
  | { readonly op: 'put'; readonly list: SenderListName; readonly value: string; readonly note: string }
  | { readonly op: 'remove'; readonly what: string };

const line = (e: SenderEntry): string => `${String(e.id).padStart(5)}  ${e.list.padEnd(5)}  ${e.value.padEnd(36)} ${e.addedBy.padEnd(16)} ${new Date(e.addedAt).toISOString()}${e.note ? `  ${e.note}` : ''}`;

async function applied(config: Config): Promise<string> {
  const a = await askGateway(config, { op: 'senders-reload' });
  if (a === null) return 'no gateway running: it reads the entries when it starts';
  return a.ok ? 'the running gateway applies it now' : `the running gateway did not re-read the entries (${a.error}); it does within checks.senderLists.refresh`;
}

async function run(config: Config, store: SenderEntryStore, cmd: SendersCommand, json: boolean): Promise<string> {
  switch (cmd.op) {
    case 'list': {
      const all = await store.list();
      if (json) return JSON.stringify(all);
      return all.length === 0 ? 'no run-time sender entries' : ['   id  list   value                                added by         added at', ...all.map(line)].join('\n');
    }
    case 'put': {
      const v = parseSenderValue(cmd.value);
      if (!v.ok) throw new Error(v.error);
      const by = `cli:${userInfo().username}`;
      const e = await store.put({ list: cmd.list, value: v.value, addedBy: by, addedAt: Date.now(), note: cmd.note.slice(0, MAX_NOTE) });
      const note = await applied(config);
      return json ? JSON.stringify({ entry: e, note }) : `${e.value} is on the ${e.list} list (entry ${e.id}); ${note}`;
    }
    case 'remove': {
      const id = /^\d+$/.test(cmd.what) ? Number(cmd.what) : null;
      let target = id;
      if (target === null) {
        const v = parseSenderValue(cmd.what);
        if (!v.ok) throw new Error(v.error);
        target = (await store.list()).find((e) => e.value === v.value)?.id ?? null;
      }
      const gone = target === null ? null : await store.remove(target);
      if (!gone) throw new Error(`no sender entry ${cmd.what}`);
      const note = await applied(config);
      return json ? JSON.stringify({ removed: gone, note }) : `${gone.value} removed from the ${gone.list} list; ${note}`;
    }
  }
}

export function sendersCommand(config: Config, cmd: SendersCommand, json: boolean): Promise<number> {
  return withStoreDb(config, openSenderEntries, (store) => run(config, store, cmd, json));
}
