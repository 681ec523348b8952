/**
 * Config slice `checks.rateLimit` (also `outbound.rateLimit`): mail volume limits, each `{ count, per }`.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { networkList, networkPrefix } from '../match/networks.js';
import { checkCommon } from '../options.js';

const limit = (what: string) =>
  z
    .object({
      count: z.number().int().min(1).describe('How many are let through per window'),
      per: duration('The window, e.g. "1h"').refine((ms) => ms >= 1000, { message: 'must be at least 1s' }),
    })
    .strict()
    .optional()
    .describe(`${what}; absent: no limit`);

export const rateLimitSchema = z
  .object({
    ...checkCommon,
    messagesPerClient: limit('Messages (MAIL commands) per client network'),
    recipientsPerClient: limit('Recipients (RCPT commands let through) per client network'),
    messagesPerSender: limit('Messages per envelope sender (the null sender is not limited)'),
    recipientsPerSender: limit('Recipients per envelope sender (the null sender is not limited)'),
    messagesPerRecipient: limit('Messages per recipient address'),
    clientNetwork: networkPrefix('How much of the client address is one client for the per-client limits', 32, 64),
    internalNetworks: networkList('Clients never limited'),
  })
  .strict()
  .prefault({})
  .describe('Mail volume per client, sender and recipient (sliding window); over a limit: 450 4.7.1');

export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
