/**
 * Config slices `rspamd:` (where Rspamd is) and `checks.rspamd` (the Rspamd check).
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { maxConcurrent, scanMaxSize, scanTimeout } from '../options.js';

/** Top-level `rspamd:`; absent: Rspamd is not asked. */
export const rspamdSchema = z
  .object({
    url: z
      .string()
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), { message: 'expected an http:// or https:// URL, e.g. "http://127.0.0.1:11333"' })
      .default('http://127.0.0.1:11333')
      .describe("Rspamd's normal worker (not the controller); /checkv2 is appended"),
    timeout: scanTimeout('15s'),
    maxSize: scanMaxSize(25 * 1024 * 1024, "Larger messages are not sent to Rspamd (RSPAMD_SKIPPED); keep it within Rspamd's max_message"),
    maxConcurrent: maxConcurrent('Rspamd is asynchronous; this bounds Moat\'s open requests', 16),
    honourActions: z
      .boolean()
      .default(false)
      .describe("Let Rspamd's action decide: reject → reject, soft reject/greylist → defer, add header/rewrite subject → tag; false: only its score counts"),
  })
  .strict()
  .describe('Rspamd: its HTTP protocol (checkv2). Absent: not used. checks.rspamd has enabled/observe/failOpen');

export const rspamdCheckSchema = z
  .object({
    ...checkCommon,
    failOpen: z
      .boolean()
      .default(false)
      .describe('When Rspamd is down or slow, go on without its score (logged as check.fail-open each time); false: defer with 451 4.7.1 (RSPAMD_TEMPFAIL)'),
  })
  .strict()
  .prefault({})
  .describe('The Rspamd check; it runs only when the top-level rspamd: is set');

export type RspamdConfig = z.infer<typeof rspamdSchema>;
