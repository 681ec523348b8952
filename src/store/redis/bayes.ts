/**
 * The cluster Bayes token store (DESIGN.md §6): with `state: redis://…` every node reads and learns
 * the same tokens, so a message trained through node A (`moat learn`, the console, auto-learning)
 * counts on node B at once. Keys, behind `redis.keyPrefix` + "bayes:":
 *   spam, ham  hashes token → messages of that class that contained it (absent: 0)
 *   atime      sorted set token → when it was last learned (ms), for expiry
 *   totals     hash spam/ham → messages learned
 *   learned    hash message id → its class
 * A token is the decimal text of its 64-bit hash (exact; no float on the way).
 * Round trips: a lookup is one pipeline (HMGET spam, HMGET ham, HMGET totals) whatever the number of
 * tokens; a learned batch is one pipeline of one Lua script per message, and each script does the
 * whole message atomically (the class it had, +1/−1 with HINCRBY, the totals, the atime, the id),
 * so two nodes learning the same message at once count it once. Expiry walks the atime set in
 * bounded chunks, one script per chunk (Redis is never blocked for long).
 * No cache: another node may have learned a moment ago.
 * Trusts: the Redis server (it holds only what we wrote). Fails: every call rejects with StoreError
 * when Redis is unreachable or slower than redis.commandTimeout (connection.ts); the bayes check then
 * applies its fail policy (failOpen, default: scored without Bayes).
 */
import type { ChainableCommander } from 'ioredis';
import type { BayesClass, BayesLookup, BayesStore, BayesTotals, ExpiryPolicy, LearnItem, LearnOutcome, TokenHash } from '../bayes.js';
import type { TokenCounts } from '../../scan/bayes/classifier.js';
import { StoreError } from '../state.js';
import { RedisConnection, type RedisConnectionOptions } from './connection.js';

/** The keys under the connection's prefix (also written by `moat store migrate`). */
export const BAYES_KEYS = { spam: 'bayes:spam', ham: 'bayes:ham', atime: 'bayes:atime', totals: 'bayes:totals', learned: 'bayes:learned' } as const;
const KEYS = [BAYES_KEYS.spam, BAYES_KEYS.ham, BAYES_KEYS.atime, BAYES_KEYS.totals, BAYES_KEYS.learned];

/** KEYS: spam, ham, atime, totals, learned. ARGV: id, class, now, token…  → learned|relearned|known. */
const LEARN = `
local before = redis.call('HGET', KEYS[5], ARGV[1])
if before == ARGV[2] then return 'known' end
local function of(c) if c == 'spam' then return KEYS[1] end return KEYS[2] end
if before then
  local k = of(before)
  for i = 4, #ARGV do
    if redis.call('HINCRBY', k, ARGV[i], -1) <= 0 then redis.call('HDEL', k, ARGV[i]) end
  end
  if redis.call('HINCRBY', KEYS[4], before, -1) < 0 then redis.call('HSET', KEYS[4], before, 0) end
end
local k = of(ARGV[2])
for i = 4, #ARGV do
  redis.call('HINCRBY', k, ARGV[i], 1)
  redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[i])
end
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
if before then return 'relearned' end
return 'learned'`;

/** KEYS as LEARN. ARGV: id, token…  → 1 forgotten, 0 never learned. The atime is left as it was. */
const FORGET = `
local before = redis.call('HGET', KEYS[5], ARGV[1])
if before ~= 'spam' and before ~= 'ham' then return 0 end
local k = KEYS[2]
if before == 'spam' then k = KEYS[1] end
for i = 2, #ARGV do
  if redis.call('HINCRBY', k, ARGV[i], -1) <= 0 then
    redis.call('HDEL', k, ARGV[i])
    if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 and redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then redis.call('ZREM', KEYS[3], ARGV[i]) end
  end
end
if redis.call('HINCRBY', KEYS[4], before, -1) < 0 then redis.call('HSET', KEYS[4], before, 0) end
redis.call('HDEL', KEYS[5], ARGV[1])
return 1`;

/** KEYS: spam, ham, atime. ARGV: before, rareBelow, offset, limit → {removed, scanned}. */
const EXPIRE_RARE = `
local c = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'LIMIT', ARGV[3], ARGV[4])
local removed = 0
for _, t in ipairs(c) do
  local n = tonumber(redis.call('HGET', KEYS[1], t) or '0') + tonumber(redis.call('HGET', KEYS[2], t) or '0')
  if n < tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[1], t)
    redis.call('HDEL', KEYS[2], t)
    redis.call('ZREM', KEYS[3], t)
    removed = removed + 1
  end
end
return {removed, #c}`;

/** KEYS: spam, ham, atime. ARGV: maxTokens, limit → how many of the oldest were removed (≤ limit). */
const EXPIRE_OLDEST = `
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[1])
if over <= 0 then return 0 end
if over > tonumber(ARGV[2]) then over = tonumber(ARGV[2]) end
local p = redis.call('ZPOPMIN', KEYS[3], over)
for i = 1, #p, 2 do
  redis.call('HDEL', KEYS[1], p[i])
  redis.call('HDEL', KEYS[2], p[i])
end
return over`;

/** Tokens an expiry script looks at per call. */
const EXPIRY_CHUNK = 5000;

type Scripts = {
  moatBayesLearn(...args: (string | number)[]): Promise<string>;
  moatBayesForget(...args: (string | number)[]): Promise<number>;
  moatBayesExpireRare(...args: (string | number)[]): Promise<[number, number]>;
  moatBayesExpireOldest(...args: (string | number)[]): Promise<number>;
};

function count(v: string | null | undefined): number {
  return v === null || v === undefined ? 0 : Number(v);
}

function unique(tokens: readonly TokenHash[]): string[] {
  return [...new Set(tokens)].map(String);
}

export class RedisBayesStore extends RedisConnection implements BayesStore {
  constructor(o: RedisConnectionOptions) {
    super(o);
    this.redis.defineCommand('moatBayesLearn', { numberOfKeys: KEYS.length, lua: LEARN });
    this.redis.defineCommand('moatBayesForget', { numberOfKeys: KEYS.length, lua: FORGET });
    this.redis.defineCommand('moatBayesExpireRare', { numberOfKeys: 3, lua: EXPIRE_RARE });
    this.redis.defineCommand('moatBayesExpireOldest', { numberOfKeys: 3, lua: EXPIRE_OLDEST });
  }

  /** A pipeline's results, or the first command's error (StoreError via run()). */
  private async exec(build: (p: ChainableCommander) => void): Promise<unknown[]> {
    return this.run(async () => {
      const p = this.redis.pipeline();
      build(p);
      const results = (await p.exec()) ?? [];
      return results.map(([err, v]) => {
        if (err) throw err;
        return v;
      });
    });
  }

  async lookup(tokens: readonly TokenHash[]): Promise<BayesLookup> {
    const fields = unique(tokens);
    const r = await this.exec((p) => {
      p.hmget(BAYES_KEYS.totals, 'spam', 'ham');
      if (fields.length > 0) {
        p.hmget(BAYES_KEYS.spam, ...fields);
        p.hmget(BAYES_KEYS.ham, ...fields);
      }
    });
    const [t, spam, ham] = r as [(string | null)[], (string | null)[] | undefined, (string | null)[] | undefined];
    const counts = new Map<TokenHash, TokenCounts>();
    fields.forEach((f, i) => {
      const s = spam?.[i];
      const h = ham?.[i];
      if ((s === null || s === undefined) && (h === null || h === undefined)) return;
      counts.set(BigInt(f), { spam: count(s), ham: count(h) });
    });
    return { totals: { spam: count(t[0]), ham: count(t[1]) }, counts };
  }

  async totals(): Promise<BayesTotals> {
    const [s, h] = await this.run(() => this.redis.hmget(BAYES_KEYS.totals, 'spam', 'ham'));
    return { spam: count(s), ham: count(h) };
  }

  async learnedAs(id: string): Promise<BayesClass | null> {
    const c = await this.run(() => this.redis.hget(BAYES_KEYS.learned, id));
    return c === 'spam' || c === 'ham' ? c : null;
  }

  async learn(items: readonly LearnItem[], now: number): Promise<LearnOutcome[]> {
    if (items.length === 0) return [];
    const r = await this.exec((p) => {
      const s = p as unknown as Scripts;
      for (const item of items) void s.moatBayesLearn(...KEYS, item.id, item.as, Math.round(now), ...unique(item.tokens));
    });
    return r.map((v) => {
      if (v === 'learned' || v === 'relearned' || v === 'known') return v;
      throw new StoreError(`${this.where}: unexpected learn answer ${String(v)}`);
    });
  }

  async forget(items: readonly { readonly id: string; readonly tokens: readonly TokenHash[] }[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const r = await this.exec((p) => {
      const s = p as unknown as Scripts;
      for (const item of items) void s.moatBayesForget(...KEYS, item.id, ...unique(item.tokens));
    });
    return r.map((v) => v === 1);
  }

  async expire(policy: ExpiryPolicy): Promise<number> {
    const s = this.redis as unknown as Scripts;
    let removed = 0;
    // Rare tokens first: the kept ones stay at the front of the range, so the offset skips them.
    for (let offset = 0; ; ) {
      const [gone, scanned] = await this.run(() => s.moatBayesExpireRare(BAYES_KEYS.spam, BAYES_KEYS.ham, BAYES_KEYS.atime, policy.before, policy.rareBelow, offset, EXPIRY_CHUNK));
      removed += gone;
      offset += scanned - gone;
      if (scanned < EXPIRY_CHUNK) break;
    }
    for (;;) {
      const gone = await this.run(() => s.moatBayesExpireOldest(BAYES_KEYS.spam, BAYES_KEYS.ham, BAYES_KEYS.atime, policy.maxTokens, EXPIRY_CHUNK));
      removed += gone;
      if (gone < EXPIRY_CHUNK) break;
    }
    return removed;
  }
}
