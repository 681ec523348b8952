/** Config slice `checks.helo`. */
import { z } from 'zod';
import { checkCommon } from '../options.js';

export const heloSchema = z
  .object({
    ...checkCommon,
    dns: z.boolean().default(true).describe('Look the HELO name up (A, AAAA, MX) and report HELO_NO_DNS when it has none'),
  })
  .strict()
  .prefault({})
  .describe('The HELO/EHLO name: syntax, fully qualified, not ours, resolvable');

export type HeloConfig = z.infer<typeof heloSchema>;
