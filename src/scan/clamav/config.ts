/**
 * Config slices `clamav:` (where clamd is) and `checks.clamav` (the antivirus check).
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { maxConcurrent, scanMaxSize, scanTimeout, socketAddress } from '../options.js';

/** Top-level `clamav:`, where clamd is and how to talk to it; absent: no antivirus. */
export const clamavSchema = z
  .object({
    address: socketAddress('clamd: "ip:port" (its TCPSocket/TCPAddr) or the path of its LocalSocket', '127.0.0.1:3310'),
    timeout: scanTimeout('20s'),
    maxSize: scanMaxSize(25 * 1024 * 1024, "Octets streamed to clamd at most (keep it <= clamd's StreamMaxLength, default 25M); a longer message is scanned in part and gets CLAMAV_TRUNCATED"),
    maxConcurrent: maxConcurrent("keep workers × this within clamd's MaxThreads", 4),
    nameInReply: z.boolean().default(true).describe('Name the signature found in the 554 reply, e.g. "virus found (Eicar-Signature)"'),
  })
  .strict()
  .describe('Antivirus with ClamAV: clamd over INSTREAM. Absent: no virus scanning. checks.clamav has enabled/observe/failOpen');

export const clamavCheckSchema = z
  .object({
    ...checkCommon,
    failOpen: z
      .boolean()
      .default(false)
      .describe('When clamd is down or slow, accept the message unscanned (logged as check.fail-open each time); false: defer with 451 4.7.1 (CLAMAV_TEMPFAIL)'),
  })
  .strict()
  .prefault({})
  .describe('The antivirus check; it runs only when the top-level clamav: is set');

export type ClamavConfig = z.infer<typeof clamavSchema>;
