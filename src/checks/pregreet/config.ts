/**
 * Config slice `checks.pregreet`: holding the greeting back from unknown clients (postscreen's pregreet test).
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { checkCommon } from '../options.js';

export const pregreetSchema = z
  .object({
    ...checkCommon,
    enabled: z.boolean().default(false).describe('Run the pregreet test (delays the greeting of unknown clients by `wait`)'),
    wait: duration('How long the greeting is held back for a client not seen before').prefault('6s'),
    remember: duration('How long a client that waited is exempt from the wait').prefault('1d'),
  })
  .strict()
  .prefault({});

export type PregreetConfig = z.infer<typeof pregreetSchema>;
