/** Config slice: retry schedule and lifetimes of queued mail. */
import { z } from 'zod';
import { duration } from '../config/duration.js';

export const queueSchema = z
  .object({
    retrySchedule: z
      .array(duration('delay'))
      .min(1)
      .prefault([60, 300, 900, 1800, 3600, 7200, 14400])
      .describe('Delays between delivery attempts after a temporary failure; the last one repeats'),
    lifetime: duration('How long a message is retried before it bounces').prefault('5d'),
    delayWarning: duration('After this long undelivered, the sender gets a delay notice (0 = never)').prefault('4h'),
    minFreeSpace: z.number().int().min(0).default(64 * 1024 * 1024).describe('Free octets the spool file system must keep beyond a declared message size, else 452 4.3.1 at MAIL'),
  })
  .strict()
  .prefault({});

export type QueueConfig = z.infer<typeof queueSchema>;
