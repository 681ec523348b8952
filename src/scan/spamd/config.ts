/**
 * Config slices `spamassassin:` (where spamd is) and `checks.spamassassin` (the SpamAssassin check).
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { maxConcurrent, scanMaxSize, scanTimeout, socketAddress } from '../options.js';

/** Top-level `spamassassin:`; absent: SpamAssassin is not asked. */
export const spamassassinSchema = z
  .object({
    address: socketAddress('spamd: "ip:port" (its --listen) or the path of its --socketpath', '127.0.0.1:783'),
    timeout: scanTimeout('15s'),
    maxSize: scanMaxSize(512_000, "Larger messages are not sent to spamd (SPAMD_SKIPPED); spamc's default is 500 KB"),
    maxConcurrent: maxConcurrent("spamd serves --max-children at once, 5 by default", 4),
    user: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and . _ @ - only')
      .optional()
      .describe('Sent as User: (whose SpamAssassin preferences apply); absent: spamd decides'),
  })
  .strict()
  .describe('SpamAssassin: spamd over the SPAMC protocol. Absent: not used. checks.spamassassin has enabled/observe/failOpen');

export const spamassassinCheckSchema = z
  .object({
    ...checkCommon,
    failOpen: z
      .boolean()
      .default(false)
      .describe('When spamd is down or slow, go on without its score (logged as check.fail-open each time); false: defer with 451 4.7.1 (SPAMD_TEMPFAIL)'),
  })
  .strict()
  .prefault({})
  .describe('The SpamAssassin check (check name "spamd"); it runs only when the top-level spamassassin: is set');

export type SpamassassinConfig = z.infer<typeof spamassassinSchema>;
