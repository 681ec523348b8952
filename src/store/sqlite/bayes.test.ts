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

describe('SQLite Bayes store', () => {
  it('hashes tokens to signed 64-bit integers, stable and distinct', () => {
    expect(tokenHash('viagra')).toBe(tokenHash('viagra'));
    expect(tokenHash('viagra')).not.toBe(tokenHash('Viagra'));
    const all = h(...Array.from({ length: 1000 }, (_, i) => `t${i}`));
    expect(new Set(all).size).toBe(1000);
    expect(all.some((x) => x < 0n) && all.some((x) => x > 2n ** 53n)).toBe(true);
  });

  it('looks up many tokens in one call and keeps 64-bit keys exact', async () => {
    const tokens = h(...Array.from({ length: 5000 }, (_, i) => `w${i}`));
    expect(await store.learn([{ id: 'm1', as: 'spam', tokens: tokens.slice(0, 4000) }], 1000)).toEqual(['learned']);
    const r = await store.lookup(tokens);
    expect(r.totals).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.size).toBe(4000);
    expect(r.counts.get(tokens[0] as bigint)).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.has(tokens[4500] as bigint)).toBe(false);
    // A neighbouring integer (what a float round trip would give) is another key.
    const near = (tokens[1] as bigint) + 1n;
    expect((await store.lookup([near])).counts.size).toBe(0);
    expect((await store.lookup([])).counts.size).toBe(0);
  });

  it('learning the same message twice changes nothing; a token counts once per message', async () => {
    const t = h('a', 'b', 'a');
    expect(await store.learn([{ id: 'm1', as: 'ham', tokens: t }], 1000)).toEqual(['learned']);
    expect(await store.learn([{ id: 'm1', as: 'ham', tokens: t }], 2000)).toEqual(['known']);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 0, ham: 1 });
    expect(r.counts.get(tokenHash('a'))).toEqual({ spam: 0, ham: 1 });
  });

  it('relearning as the other class moves the message and its tokens', async () => {
    await store.learn([{ id: 'm1', as: 'ham', tokens: h('a', 'b') }, { id: 'm2', as: 'ham', tokens: h('b') }], 1000);
    expect(await store.learn([{ id: 'm1', as: 'spam', tokens: h('a', 'b') }], 2000)).toEqual(['relearned']);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 1, ham: 1 });
    expect(r.counts.get(tokenHash('a'))).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.get(tokenHash('b'))).toEqual({ spam: 1, ham: 1 });
    expect(await store.learnedAs('m1')).toBe('spam');
  });

  it('learns a batch in one transaction, with an outcome per item', async () => {
    const out = await store.learn(
      [
        { id: 'x', as: 'spam', tokens: h('a') },
        { id: 'y', as: 'ham', tokens: h('a') },
        { id: 'x', as: 'spam', tokens: h('a') },
        { id: 'y', as: 'spam', tokens: h('a') },
      ],
      1000,
    );
    expect(out).toEqual(['learned', 'learned', 'known', 'relearned']);
    expect((await store.lookup(h('a'))).counts.get(tokenHash('a'))).toEqual({ spam: 2, ham: 0 });
  });

  it('forgets a message: counts back, empty tokens removed, unknown messages skipped', async () => {
    await store.learn([{ id: 'm1', as: 'spam', tokens: h('a', 'b') }, { id: 'm2', as: 'spam', tokens: h('b') }], 1000);
    expect(await store.forget([{ id: 'm1', tokens: h('a', 'b') }, { id: 'nope', tokens: h('a') }])).toEqual([true, false]);
    const r = await store.lookup(h('a', 'b'));
    expect(r.totals).toEqual({ spam: 1, ham: 0 });
    expect(r.counts.has(tokenHash('a'))).toBe(false);
    expect(r.counts.get(tokenHash('b'))).toEqual({ spam: 1, ham: 0 });
    expect(await store.learnedAs('m1')).toBeNull();
  });

  it('expires old rare tokens and then the least recently learned past maxTokens', async () => {
    await store.learn([{ id: 'old1', as: 'spam', tokens: h('rare-old', 'common') }], 1000);
    await store.learn([{ id: 'old2', as: 'ham', tokens: h('common', 'common2') }, { id: 'old3', as: 'ham', tokens: h('common', 'common2') }], 1000);
    await store.learn([{ id: 'new', as: 'spam', tokens: h('rare-new') }], 9000);
    // rare = seen in fewer than 2 messages, old = learned before 5000
    expect(await store.expire({ before: 5000, rareBelow: 2, maxTokens: 1_000_000 })).toBe(1);
    const r = await store.lookup(h('rare-old', 'common', 'common2', 'rare-new'));
    expect([...r.counts.keys()].sort()).toEqual(h('common', 'common2', 'rare-new').sort());
    // At most 2 tokens: the least recently learned goes first.
    expect(await store.expire({ before: 0, rareBelow: 1, maxTokens: 2 })).toBe(1);
    expect((await store.lookup(h('rare-new'))).counts.size).toBe(1);
    // The totals are messages, not tokens: expiry leaves them.
    expect(await store.totals()).toEqual({ spam: 2, ham: 2 });
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
