/**
 * One ioredis connection as the cluster stores use it (state.ts, bayes.ts): behind the key prefix,
 * failing fast and never waiting — no offline queue, no retried requests, a per-command timeout —
 * so while Redis is unreachable every call rejects at once with StoreError (transient) and the
 * caller applies its fail policy. ioredis reconnects in the background with a capped backoff;
 * calls succeed again as soon as Redis is back.
 * Trusts: the Redis server named by the URL. The URL's password is never logged (errors name only
 * host and port, and ioredis' own messages name the command and the state).
 */
import { Redis } from 'ioredis';
import { StoreError } from '../state.js';

export interface RedisConnectionOptions {
  /** "redis://[:password@]host:port/db" (or rediss:// for TLS). */
  readonly url: string;
  readonly keyPrefix: string;
  /** Longest wait for one command, in ms. */
  readonly commandTimeoutMs: number;
  /** Longest wait for a (re)connection, in ms. */
  readonly connectTimeoutMs: number;
}

export class RedisConnection {
  protected readonly redis: Redis;
  protected readonly where: string;
  private closed = false;

  constructor(o: RedisConnectionOptions) {
    const u = new URL(o.url);
    this.where = `redis ${u.hostname}:${u.port || '6379'}`;
    this.redis = new Redis(o.url, {
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
    this.redis.on('error', () => undefined);
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

  protected async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError(`${this.where}: closed`);
    try {
      return await fn();
    } catch (e) {
      throw new StoreError(`${this.where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
