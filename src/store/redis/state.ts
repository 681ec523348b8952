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
 * (greylist: fail open or defer; rate limits and recipient cache: defer). ioredis reconnects in the
 * background with a capped backoff; calls succeed again as soon as it is back. The URL's password is
 * never logged (errors name only host and port).
 */
import { Redis } from 'ioredis';
import { StoreError, type StateStore } from '../state.js';

/** INCRBYFLOAT with a TTL set once, at creation (KEYS[1], ARGV[1] = by, ARGV[2] = ttl ms). */
const INCREMENT = `
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export interface RedisStateOptions {
  /** "redis://[:password@]host:port/db" (or rediss:// for TLS). */
  readonly url: string;
  readonly keyPrefix: string;
  /** Longest wait for one command, in ms. */
  readonly commandTimeoutMs: number;
  /** Longest wait for a (re)connection, in ms. */
  readonly connectTimeoutMs: number;
}

type WithIncrement = Redis & { moatIncrement(key: string, by: string, ttlMs: number): Promise<string> };

export class RedisStateStore implements StateStore {
  private readonly redis: WithIncrement;
  private readonly where: string;
  private closed = false;

  constructor(o: RedisStateOptions) {
    const u = new URL(o.url);
    this.where = `redis ${u.hostname}:${u.port || '6379'}`;
    const redis = new Redis(o.url, {
      keyPrefix: o.keyPrefix,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: o.commandTimeoutMs,
      connectTimeout: o.connectTimeoutMs,
      // Reconnect forever, backing off to 2 s between attempts.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      lazyConnect: false,
    });
    // Errors surface on the calls; the connection's own error events must not crash the worker.
    redis.on('error', () => undefined);
    redis.defineCommand('moatIncrement', { numberOfKeys: 1, lua: INCREMENT });
    this.redis = redis as WithIncrement;
  }

  /** Resolves once connected (or rejects with StoreError after `timeoutMs`). For startup and tests. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(new StoreError(`${this.where}: not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError(`${this.where}: closed`);
    try {
      return await fn();
    } catch (e) {
      // ioredis messages name the command and the state, never the password.
      throw new StoreError(`${this.where}: ${e instanceof Error ? e.message : String(e)}`);
    }
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
    return Number(await this.run(() => this.redis.moatIncrement(key, String(by), ttl(ttlMs))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Redis refuses PX 0 or fractions: at least 1 ms, whole. */
function ttl(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
