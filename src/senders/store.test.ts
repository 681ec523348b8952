// The run-time sender entries: value parsing, the compiled lists the check reads, the live copy's
// refresh, and one contract run against both stores — SQLite in a scratch file and a real
// PostgreSQL 15 on loopback (test/harness/postgres.ts): add, move between lists, who and when
// kept, remove, and the same rows seen by a second store on the same data (another process/node).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../test/harness/postgres.js';
import { stopAll } from '../../test/harness/process.js';
import { makeScratchDir, removeScratchDir } from '../../test/harness/tmp.js';
import { parseMailbox, type Mailbox } from '../smtp/address.js';
import { parseSenderValue, RuntimeSenderLists, SenderStoreError, type SenderEntry, type SenderEntryStore } from './entries.js';
import { LiveSenderLists } from './live.js';
import { PostgresSenderEntryStore } from './postgres.js';
import { SqliteSenderEntryStore } from './sqlite.js';

const mb = (s: string): Mailbox => {
  const r = parseMailbox(s);
  if (!r.ok) throw new Error(s);
  return r.value;
};
const entry = (id: number, list: 'allow' | 'block', value: string): SenderEntry => ({ id, list, value, addedBy: 'root', addedAt: id, note: '' });

describe('sender entry values and matching', () => {
  it('canonicalises addresses and domains and refuses anything else', () => {
    expect(parseSenderValue(' Promo@Sender.EXAMPLE ')).toEqual({ ok: true, value: 'promo@sender.example', kind: 'address' });
    expect(parseSenderValue('<a@b.example>')).toMatchObject({ ok: true, value: 'a@b.example' });
    expect(parseSenderValue('Bücher.Example')).toEqual({ ok: true, value: 'xn--bcher-kva.example', kind: 'domain' });
    expect(parseSenderValue('.shop.example')).toMatchObject({ ok: true, value: '.shop.example' });
    for (const bad of ['', 'not an address@', 'a b', '[127.0.0.1]', 'x'.repeat(400)]) expect(parseSenderValue(bad).ok).toBe(false);
  });

  it('matches an address, its domain and parent-domain entries, and nothing else', () => {
    const l = new RuntimeSenderLists([entry(1, 'block', 'spam@bad.example'), entry(2, 'block', 'worse.example'), entry(3, 'allow', '.partner.example')]);
    expect(l.match('block', mb('SPAM@bad.example'))?.id).toBe(1);
    expect(l.match('block', mb('other@bad.example'))).toBeNull();
    expect(l.match('block', mb('x@worse.example'))?.id).toBe(2);
    expect(l.match('block', mb('x@sub.worse.example'))).toBeNull();
    expect(l.match('allow', mb('x@mail.partner.example'))?.id).toBe(3);
    expect(l.match('allow', mb('x@partner.example'))).toBeNull();
    expect(l.match('block', mb('x@mail.partner.example'))).toBeNull();
  });

  it('keeps the last snapshot when the store fails, and logs it', async () => {
    let fail = false;
    const rows = [entry(1, 'block', 'a@b.example')];
    const errors: string[] = [];
    const store: SenderEntryStore = {
      list: async () => (fail ? Promise.reject(new SenderStoreError('down')) : rows),
      put: async () => Promise.reject(new Error('unused')),
      remove: async () => null,
      close: async () => undefined,
    };
    const live = new LiveSenderLists(store, { error: (e) => void errors.push(e) });
    await live.refresh();
    expect(live.current().entries).toHaveLength(1);
    fail = true;
    await live.refresh();
    expect(live.current().match('block', mb('a@b.example'))?.id).toBe(1);
    expect(errors).toEqual(['senders.error']);
  });
});

async function contract(open: () => Promise<SenderEntryStore>): Promise<void> {
  const a = await open();
  const b = await open();
  try {
    const blocked = await a.put({ list: 'block', value: 'promo@sender.example', addedBy: 'root', addedAt: 1000, note: 'from quarantine Q1' });
    const allowed = await a.put({ list: 'allow', value: 'partner.example', addedBy: 'cli:ops', addedAt: 2000, note: '' });
    expect(blocked).toMatchObject({ list: 'block', value: 'promo@sender.example', addedBy: 'root', addedAt: 1000, note: 'from quarantine Q1' });
    // Another connection (another process or node) sees the same rows, newest first.
    expect((await b.list()).map((e) => [e.list, e.value, e.addedBy])).toEqual([
      ['allow', 'partner.example', 'cli:ops'],
      ['block', 'promo@sender.example', 'root'],
    ]);
    // One value is on one list: allowing the blocked address moves it, with its new author and time.
    const moved = await b.put({ list: 'allow', value: 'promo@sender.example', addedBy: 'desk', addedAt: 3000, note: '' });
    expect(moved.id).toBe(blocked.id);
    expect((await a.list()).find((e) => e.value === 'promo@sender.example')).toMatchObject({ list: 'allow', addedBy: 'desk', addedAt: 3000 });
    expect(await a.remove(allowed.id)).toMatchObject({ value: 'partner.example' });
    expect(await a.remove(allowed.id)).toBeNull();
    expect((await b.list()).map((e) => e.value)).toEqual(['promo@sender.example']);
  } finally {
    await a.close();
    await b.close();
  }
}

describe('sender entry stores', () => {
  let dir: string;
  let pg: PostgresHandle;
  beforeAll(async () => {
    dir = await makeScratchDir();
    pg = await startPostgres();
  }, 90_000);
  afterAll(async () => {
    await stopAll();
    await removeScratchDir(dir);
  });

  it('SQLite (store.db): add, move, remove, seen by a second connection', async () => {
    await contract(async () => new SqliteSenderEntryStore(join(dir, 'store.db')));
  });

  it('PostgreSQL: the same, with the schema migrated once by two stores', async () => {
    const url = await pg.createDatabase('senders');
    await contract(async () => new PostgresSenderEntryStore({ url, poolSize: 2, statementTimeoutMs: 5000 }));
    expect((await pg.sql('senders', "SELECT version FROM moat_schema WHERE component = 'sender-entries'")).trim()).toBe('1');
  });

  it('PostgreSQL unreachable: a SenderStoreError that names the server without its password', async () => {
    const s = new PostgresSenderEntryStore({ url: 'postgres://moat:secret@127.0.0.1:9/none', poolSize: 1, statementTimeoutMs: 1000 });
    const e = await s.list().catch((x: unknown) => x);
    await s.close();
    expect(e).toBeInstanceOf(SenderStoreError);
    expect(String((e as Error).message)).toContain('127.0.0.1:9');
    expect(String((e as Error).message)).not.toContain('secret');
  });
});
