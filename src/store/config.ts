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
