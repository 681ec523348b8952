/**
 * The cluster state store (DESIGN.md §6): every node's workers share one Redis database, so a
 * greylist triplet seen on node A passes on node B and rate limits count across the nodes. Keys are
 * the callers' keys behind a configurable prefix (`redis.keyPrefix`), so one Redis can serve several
 * gateways. Redis itself expires keys: SET … PX … NX for setIfAbsent, and one Lua script for
 * increment (INCRBYFLOAT, then PEXPIRE only when the key has no expiry yet), so a counter's lifetime
 * starts at its creation and is never pushed out, exactly as in the SQLite store.
 * Trusts: the Redis server named by the URL (its answers are ours: it holds only what we wrote).
 * Fails fast, never waits: no offline queue, a per-command timeout, so while Redis is unreachable
 * every call rejects with StoreError (transient) at once and each check applies its fail policy
 * (greylist: fail open or defer; rate limits and recipient cache: defer); the connection's
 * behaviour (reconnects, timeouts, no password in errors) is connection.ts'.
 */
import type { Redis } from 'ioredis';
import type { StateStore } from '../state.js';
import { RedisConnection, type RedisConnectionOptions } from './connection.js';

/** INCRBYFLOAT with a TTL set once, at creation (KEYS[1], ARGV[1] = by, ARGV[2] = ttl ms). */
const INCREMENT = `
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export type RedisStateOptions = RedisConnectionOptions;

type WithIncrement = Redis & { moatIncrement(key: string, by: string, ttlMs: number): Promise<string> };

export class RedisStateStore extends RedisConnection implements StateStore {
  private readonly cmd: WithIncrement;

  constructor(o: RedisStateOptions) {
    super(o);
    this.redis.defineCommand('moatIncrement', { numberOfKeys: 1, lua: INCREMENT });
    this.cmd = this.redis as WithIncrement;
  }

  get(key: string): Promise<string | null> {
    return this.run(() => this.redis.get(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run(() => this.redis.set(key, value, 'PX', ttl(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.redis.set(key, value, 'PX', ttl(ttlMs), 'NX'))) === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.run(() => this.redis.del(key));
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    return Number(await this.run(() => this.cmd.moatIncrement(key, String(by), ttl(ttlMs))));
  }
}

/** Redis refuses PX 0 or fractions: at least 1 ms, whole. */
function ttl(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
