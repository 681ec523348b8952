/**
 * Config slice `checks.attachments`: what to block (by name and by real type), what to do with a
 * blocked attachment, and the bounds of looking inside archives.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { DEFAULT_BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_TYPES } from './names.js';

const token = (what: string) => z.string().regex(/^[a-z0-9_-]{1,20}$/, { message: `expected ${what} in lower case without the dot, e.g. "exe"` });

export const attachmentsSchema = z
  .object({
    ...checkCommon,
    action: z
      .enum(['reject', 'quarantine', 'none'])
      .default('reject')
      .describe(
        'What a blocked attachment (ATTACH_BLOCKED) does: reject at end of data with 554 5.7.1 (the sending server tells its user), quarantine, or none (score only)',
      ),
    block: z
      .object({
        extensions: z.array(token('a file extension')).default([...DEFAULT_BLOCKED_EXTENSIONS]).describe('File name extensions blocked (the last one of the name, bidi and padding removed), also inside archives'),
        types: z.array(token('a type name')).default([...DEFAULT_BLOCKED_TYPES]).describe('Real types blocked whatever the name says (sniffed from the content: exe, elf, macho, msi, lnk, class, jar, apk, chm, reg, iso, ...)'),
      })
      .strict()
      .prefault({})
      .describe('The block list (replace a list to change it; [] blocks nothing of that kind)'),
    archives: z
      .object({
        maxDepth: z.number().int().min(0).max(10).default(3).describe('Archives inside archives opened (0: archives are not opened)'),
        maxEntries: z.number().int().min(1).max(100_000).default(1000).describe('Archive entries looked at per message'),
        maxTotal: z.number().int().min(0).max(1 << 30).default(50 * 1024 * 1024).describe('Octets inflated per message over all archives'),
        maxRatio: z.number().min(2).max(100_000).default(250).describe('Declared size over compressed size above which an entry (over 1 MiB) is a zip bomb'),
      })
      .strict()
      .prefault({})
      .describe('Bounds of looking inside zip, OOXML, gzip, tar and RAR; what they keep unseen is ATTACH_ARCHIVE_LIMIT'),
  })
  .strict()
  .prefault({})
  .describe('attachments: blocked types and names, double extensions, bidi tricks, type mismatches, archives, Office macros, PDF JavaScript');

export type AttachmentsConfig = z.infer<typeof attachmentsSchema>;
