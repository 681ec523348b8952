/** Config slice of the message log (src/store/message-log.ts). */
import { z } from 'zod';
import { duration } from '../config/duration.js';

export const messageLogSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Keep one entry per SMTP transaction (envelope, verdict, reply, delivery attempts) for `moat explain` and the console'),
    retention: duration('How long entries are kept; older ones are pruned hourly').prefault('30d'),
  })
  .strict()
  .prefault({});

export type MessageLogConfig = z.infer<typeof messageLogSchema>;

/** Options of the Redis state store (used when `state` is a redis:// URL). */
export const redisSchema = z
  .object({
    keyPrefix: z.string().max(64).default('moat:').describe('Prefix of every key Moat writes, so that one Redis can serve several gateways'),
    commandTimeout: duration('Longest wait for one Redis command; then the check applies its fail policy').prefault('1s'),
    connectTimeout: duration('Longest wait for a connection to Redis').prefault('2s'),
  })
  .strict()
  .prefault({});

/** Options of the PostgreSQL message store (used when `store` is a postgres:// URL). */
export const postgresSchema = z
  .object({
    poolSize: z.number().int().min(1).max(100).default(4).describe('Connections per worker process'),
    statementTimeout: duration('Longest wait for one statement').prefault('10s'),
  })
  .strict()
  .prefault({});

/** The cluster's node list (src/store/nodes.ts), kept when `store` is a postgres:// URL. */
export const clusterSchema = z
  .object({
    heartbeat: duration("How often each node writes its heartbeat (workers, queue size, oldest message) into the store's node list").prefault('5s'),
    staleAfter: duration('A node whose last heartbeat is older than this is shown as stale on every console').prefault('30s'),
    forgetAfter: duration('A node silent for longer than this is dropped from the node list').prefault('7d'),
  })
  .strict()
  .prefault({});
