import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../bayes.js';
import { SqliteBayesStore } from './bayes.js';

let dir: string;
let store: SqliteBayesStore;
const h = (...t: string[]) => t.map(tokenHash);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-bayes-'));
  store = new SqliteBayesStore(join(dir, 'bayes.db'));
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

// What every Bayes store must do is in ../bayes-contract.test.ts (run against SQLite and Redis);
// here: the hash, and what is the SQLite file's own (its cache, read-only readers, persistence).
describe('SQLite Bayes store', () => {
  it('hashes tokens to signed 64-bit integers, stable and distinct', () => {
    expect(tokenHash('viagra')).toBe(tokenHash('viagra'));
    expect(tokenHash('viagra')).not.toBe(tokenHash('Viagra'));
    const all = h(...Array.from({ length: 1000 }, (_, i) => `t${i}`));
    expect(new Set(all).size).toBe(1000);
    expect(all.some((x) => x < 0n) && all.some((x) => x > 2n ** 53n)).toBe(true);
  });

  it('answers repeated lookups from memory, never with counts another writer has changed', async () => {
    await store.learn([{ id: 'm1', as: 'spam', tokens: h('a') }], 1000);
    const reader = new SqliteBayesStore(join(dir, 'bayes.db'), { readonly: true });
    expect((await reader.lookup(h('a', 'b'))).counts.get(tokenHash('a'))).toEqual({ spam: 1, ham: 0 });
    // Another connection learns: the reader's cached "a" and absent "b" must not survive it.
    await store.learn([{ id: 'm2', as: 'ham', tokens: h('a', 'b') }], 2000);
    const r = await reader.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 1, ham: 1 });
    expect(r.counts.get(tokenHash('a'))).toEqual({ spam: 1, ham: 1 });
    expect(r.counts.get(tokenHash('b'))).toEqual({ spam: 0, ham: 1 });
    // And the writer's own lookups see its own writes.
    expect((await store.lookup(h('b'))).counts.get(tokenHash('b'))).toEqual({ spam: 0, ham: 1 });
    await store.forget([{ id: 'm2', tokens: h('a', 'b') }]);
    expect((await store.lookup(h('b'))).counts.has(tokenHash('b'))).toBe(false);
    expect((await reader.lookup(h('b'))).counts.has(tokenHash('b'))).toBe(false);
    await reader.close();
  });

  it('keeps its data across reopenings and reads it read-only beside a writer', async () => {
    await store.learn([{ id: 'm1', as: 'spam', tokens: h('a') }], 1000);
    const reader = new SqliteBayesStore(join(dir, 'bayes.db'), { readonly: true });
    expect((await reader.lookup(h('a'))).counts.get(tokenHash('a'))).toEqual({ spam: 1, ham: 0 });
    await expect(reader.learn([{ id: 'm2', as: 'spam', tokens: h('a') }], 1)).rejects.toThrow(/readonly/);
    await reader.close();
    const db = new Database(join(dir, 'bayes.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM learned').get()).toEqual({ n: 1 });
    db.close();
  });
});
