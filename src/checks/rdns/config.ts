/** Config slice `checks.rdns`; the patterns are checked here and compiled when the check is built. */
import { z } from 'zod';
import { checkCommon } from '../options.js';
import { DEFAULT_DYNAMIC_PATTERNS } from './dynamic.js';

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

export const rdnsSchema = z
  .object({
    ...checkCommon,
    maxNames: z.number().int().min(1).max(10).default(3).describe('PTR names followed forward to look for the client address'),
    dynamic: z
      .object({
        patterns: z
          .array(regex)
          .default([...DEFAULT_DYNAMIC_PATTERNS])
          .describe('Regular expressions (case-insensitive) for generic names, matched against the name without its last two labels'),
        addressInName: z.boolean().default(true).describe('A name that holds the client address (203-0-113-5, 5.113.0.203, cb007105) is dynamic'),
      })
      .strict()
      .prefault({})
      .describe('What makes a confirmed name look dynamic (RDNS_DYNAMIC)'),
  })
  .strict()
  .prefault({})
  .describe('Reverse DNS of the client: PTR present, confirmed forward (FCrDNS), not a generic pool name');

export type RdnsConfig = z.infer<typeof rdnsSchema>;
