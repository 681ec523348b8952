/**
 * Config slice `checks.spf`: SPF (RFC 7208) at MAIL.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../options.js';

export const spfSchema = z
  .object({ ...checkCommon })
  .strict()
  .prefault({})
  .describe('SPF (RFC 7208) of the MAIL FROM domain, or of the HELO name for the null sender, at MAIL');

export type SpfConfig = z.infer<typeof spfSchema>;
