/** The quarantine's config slice, with the per-user digest (src/quarantine/digest.ts). */
import { z } from 'zod';
import { duration } from '../config/duration.js';
import { parseMailbox } from '../smtp/address.js';

const digestSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Send each recipient with newly quarantined mail a daily digest with signed release links (needs admin.publicUrl)'),
    hour: z.number().int().min(0).max(23).default(7).describe('Hour of the day (the gateway\'s local time) the digests go out'),
    from: z
      .string()
      .refine((a) => parseMailbox(a).ok, { message: 'expected an address such as "postmaster@example.com"' })
      .optional()
      .describe('From: and envelope sender of the digests; default postmaster@ the recipient\'s domain'),
    subject: z.string().min(1).max(200).default('Quarantined mail for you').describe('Subject of the digest'),
    linkValidity: duration('How long the links in a digest work').prefault('7d'),
    selfService: z.boolean().default(true).describe('Add a link to a page listing all of the recipient\'s quarantined mail (signed for that recipient, valid as long as the links)'),
    maxItems: z.number().int().min(1).max(1000).default(100).describe('Messages listed in one digest (the newest first)'),
  })
  .strict()
  .prefault({});

export const quarantineSchema = z
  .object({
    retention: duration('How long quarantined messages are kept before they are deleted').prefault('30d'),
    digest: digestSchema,
  })
  .strict()
  .prefault({});

export type DigestConfig = z.infer<typeof digestSchema>;
