/**
 * Config slice `checks.senderDomain`: MAIL FROM domains that cannot receive mail.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../options.js';

export const senderDomainSchema = z
  .object({ ...checkCommon })
  .strict()
  .prefault({})
  .describe('MAIL FROM domains that cannot receive mail: NXDOMAIN, no MX and no A/AAAA, or a null MX (RFC 7505)');

export type SenderDomainConfig = z.infer<typeof senderDomainSchema>;
