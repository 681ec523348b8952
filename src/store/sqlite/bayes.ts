/**
 * The embedded Bayes store: one SQLite file (default dataDir/bayes.db), shared by the worker
 * processes and `moat learn`. Tokens are rows keyed by their 64-bit hash (INTEGER PRIMARY KEY: the
 * table's own b-tree key, the fastest lookup SQLite has). One message's lookup is one SELECT joining
 * the hashes passed as a JSON array (json_each), so any number of tokens is one statement; a batch
 * of learned messages is one transaction with one upsert per message. WAL journal (readers never
 * wait for `moat learn`), synchronous=NORMAL (learned state, not mail), a busy timeout for two
 * writers at once. Counts read are kept in memory (found and absent tokens alike, at most
 * CACHE_MAX) until the database changes: SQLite's data_version tells when another connection
 * committed, and this connection's own writes clear the cache too, so a lookup never sees stale
 * counts. Most tokens of a message (common words, header names) repeat across messages, so most
 * lookups are answered from memory. Trusts its own file; any SQLite error becomes a StoreError.
 */
import Database from 'better-sqlite3';
import { StoreError } from '../state.js';
import type { BayesClass, BayesLookup, BayesStore, BayesTotals, ExpiryPolicy, LearnItem, LearnOutcome, TokenHash } from '../bayes.js';
import type { TokenCounts } from '../../scan/bayes/classifier.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL, atime INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_atime ON tokens (atime);
CREATE TABLE IF NOT EXISTS totals (k INTEGER PRIMARY KEY CHECK (k = 0), spam INTEGER NOT NULL, ham INTEGER NOT NULL);
INSERT OR IGNORE INTO totals (k, spam, ham) VALUES (0, 0, 0);
CREATE TABLE IF NOT EXISTS learned (id TEXT PRIMARY KEY, class TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
`;

/** JSON array of the hashes (BigInt has no JSON form; SQLite's json reads 64-bit integers exactly). */
/** Tokens whose counts are kept in memory; past this the cache starts over. */
const CACHE_MAX = 400_000;

function jsonHashes(tokens: readonly TokenHash[]): string {
  return `[${tokens.join(',')}]`;
}

export class SqliteBayesStore implements BayesStore {
  private readonly db: Database.Database;
  private readonly stmt: {
    lookup: Database.Statement<[string], { i: number; spam: number; ham: number }>;
    totals: Database.Statement<[], { spam: number; ham: number }>;
    learnedAs: Database.Statement<[string], { class: string }>;
    add: Database.Statement<[{ spam: number; ham: number; now: number; json: string }]>;
    prune: Database.Statement<[string]>;
    setLearned: Database.Statement<[string, string, number]>;
    unsetLearned: Database.Statement<[string]>;
    addTotals: Database.Statement<[number, number]>;
    expireRare: Database.Statement<[number, number]>;
    count: Database.Statement<[], { n: number }>;
    expireOldest: Database.Statement<[number]>;
    dataVersion: Database.Statement<[], { data_version: number }>;
  };
  private cache = new Map<TokenHash, TokenCounts | null>();
  private cacheVersion = -1;
  private cachedTotals: BayesTotals | null = null;

  constructor(readonly path: string, options: { readonly readonly?: boolean } = {}) {
    try {
      this.db = new Database(path, options.readonly === true ? { readonly: true, fileMustExist: true } : {});
      if (options.readonly !== true) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
      }
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('cache_size = -32768');
      if (options.readonly !== true) this.db.exec(SCHEMA);
      this.stmt = {
        lookup: this.db.prepare('SELECT j.key AS i, t.spam AS spam, t.ham AS ham FROM json_each(?) AS j JOIN tokens AS t ON t.id = j.value'),
        totals: this.db.prepare('SELECT spam, ham FROM totals WHERE k = 0'),
        learnedAs: this.db.prepare('SELECT class FROM learned WHERE id = ?'),
        // One statement per message and direction: +1/-1 on the class columns for every token.
        add: this.db.prepare(
          `INSERT INTO tokens (id, spam, ham, atime) SELECT j.value, max(@spam, 0), max(@ham, 0), @now FROM json_each(@json) AS j WHERE true
           ON CONFLICT(id) DO UPDATE SET spam = max(spam + @spam, 0), ham = max(ham + @ham, 0), atime = max(atime, @now)`,
        ),
        prune: this.db.prepare('DELETE FROM tokens WHERE id IN (SELECT value FROM json_each(?)) AND spam = 0 AND ham = 0'),
        setLearned: this.db.prepare('INSERT INTO learned (id, class, at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET class = excluded.class, at = excluded.at'),
        unsetLearned: this.db.prepare('DELETE FROM learned WHERE id = ?'),
        addTotals: this.db.prepare('UPDATE totals SET spam = max(spam + ?, 0), ham = max(ham + ?, 0) WHERE k = 0'),
        expireRare: this.db.prepare('DELETE FROM tokens WHERE atime < ? AND spam + ham < ?'),
        count: this.db.prepare('SELECT count(*) AS n FROM tokens'),
        expireOldest: this.db.prepare('DELETE FROM tokens WHERE id IN (SELECT id FROM tokens ORDER BY atime LIMIT ?)'),
        dataVersion: this.db.prepare('PRAGMA data_version'),
      };
    } catch (e) {
      throw new StoreError(`bayes store ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new StoreError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Drops what is kept in memory when another connection changed the database. */
  private fresh(): void {
    const v = this.stmt.dataVersion.get()?.data_version ?? -1;
    if (v !== this.cacheVersion || this.cache.size > CACHE_MAX) this.forgetCache(v);
  }

  private forgetCache(version = -1): void {
    this.cache = new Map();
    this.cachedTotals = null;
    this.cacheVersion = version;
  }

  async lookup(tokens: readonly TokenHash[]): Promise<BayesLookup> {
    return this.run(() => {
      this.fresh();
      const totals = (this.cachedTotals ??= this.stmt.totals.get() ?? { spam: 0, ham: 0 });
      const counts = new Map<TokenHash, TokenCounts>();
      const missing: TokenHash[] = [];
      for (const t of tokens) {
        const c = this.cache.get(t);
        if (c === undefined) missing.push(t);
        else if (c !== null) counts.set(t, c);
      }
      if (missing.length > 0) {
        for (const t of missing) this.cache.set(t, null);
        for (const r of this.stmt.lookup.all(jsonHashes(missing))) {
          const t = missing[r.i];
          if (t === undefined) continue;
          const c = { spam: r.spam, ham: r.ham };
          counts.set(t, c);
          this.cache.set(t, c);
        }
      }
      return { totals, counts };
    });
  }

  async totals(): Promise<BayesTotals> {
    return this.run(() => this.stmt.totals.get() ?? { spam: 0, ham: 0 });
  }

  async learnedAs(id: string): Promise<BayesClass | null> {
    return this.run(() => {
      const c = this.stmt.learnedAs.get(id)?.class;
      return c === 'spam' || c === 'ham' ? c : null;
    });
  }

  private apply(as: BayesClass, sign: 1 | -1, json: string, now: number): void {
    this.stmt.add.run({ spam: as === 'spam' ? sign : 0, ham: as === 'ham' ? sign : 0, now, json });
    this.stmt.addTotals.run(as === 'spam' ? sign : 0, as === 'ham' ? sign : 0);
  }

  async learn(items: readonly LearnItem[], now: number): Promise<LearnOutcome[]> {
    this.forgetCache();
    return this.run(() =>
      this.db.transaction((): LearnOutcome[] =>
        items.map((item) => {
          const before = this.stmt.learnedAs.get(item.id)?.class;
          if (before === item.as) return 'known';
          // Dedupe: a token counts once per message, whatever the caller passed.
          const json = jsonHashes([...new Set(item.tokens)]);
          if (before === 'spam' || before === 'ham') {
            this.apply(before, -1, json, now);
            this.stmt.prune.run(json);
          }
          this.apply(item.as, 1, json, now);
          this.stmt.setLearned.run(item.id, item.as, now);
          return before === undefined ? 'learned' : 'relearned';
        }),
      )(),
    );
  }

  async forget(items: readonly { readonly id: string; readonly tokens: readonly TokenHash[] }[]): Promise<boolean[]> {
    this.forgetCache();
    return this.run(() =>
      this.db.transaction((): boolean[] =>
        items.map((item) => {
          const before = this.stmt.learnedAs.get(item.id)?.class;
          if (before !== 'spam' && before !== 'ham') return false;
          const json = jsonHashes([...new Set(item.tokens)]);
          // The time is left as it was: forgetting is not learning.
          this.stmt.add.run({ spam: before === 'spam' ? -1 : 0, ham: before === 'ham' ? -1 : 0, now: 0, json });
          this.stmt.addTotals.run(before === 'spam' ? -1 : 0, before === 'ham' ? -1 : 0);
          this.stmt.prune.run(json);
          this.stmt.unsetLearned.run(item.id);
          return true;
        }),
      )(),
    );
  }

  async expire(policy: ExpiryPolicy): Promise<number> {
    this.forgetCache();
    return this.run(() =>
      this.db.transaction((): number => {
        let removed = this.stmt.expireRare.run(policy.before, policy.rareBelow).changes;
        const n = this.stmt.count.get()?.n ?? 0;
        if (n > policy.maxTokens) removed += this.stmt.expireOldest.run(n - policy.maxTokens).changes;
        return removed;
      })(),
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
