/**
 * Config slice `checks.auth`: DKIM, DMARC and ARC at end of data.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { parseDomain } from '../../smtp/address.js';
import { checkCommon } from '../../checks/options.js';

const domainList = (what: string) =>
  z
    .array(z.string().refine((d) => parseDomain(d) !== null && !d.startsWith('[') && d.includes('.'), { message: 'not a valid domain name' }))
    .default([])
    .describe(what);

export const authSchema = z
  .object({
    ...checkCommon,
    dkim: z
      .object({
        minKeyBits: z.number().int().min(512).max(16384).default(1024).describe('RSA keys shorter than this make a signature "policy" (DKIM_INVALID); RFC 8301 §3.2: at least 1024'),
      })
      .strict()
      .prefault({})
      .describe('DKIM signature verification'),
    dmarc: z
      .object({
        overrideDomains: domainList('From: domains (and their subdomains) whose DMARC reject/quarantine is not applied here (DMARC_FAIL_NONE instead, RFC 7489 §6.7)'),
      })
      .strict()
      .prefault({})
      .describe('DMARC policy evaluation'),
    arc: z
      .object({
        trustedSealers: domainList('ARC sealers (ARC-Seal d=, and subdomains) whose valid chain overrides a DMARC reject/quarantine, e.g. your mailing-list host (RFC 8617 §7.2)'),
      })
      .strict()
      .prefault({})
      .describe('ARC chain validation'),
  })
  .strict()
  .prefault({})
  .describe('DKIM, DMARC and ARC at end of data (Authentication-Results: spf, dkim, dmarc, arc)');

export type AuthConfig = z.infer<typeof authSchema>;
