/**
 * Config slice `outbound.senderLogin`: which sender addresses an authenticated account may use.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { checkCommon } from '../options.js';

export const senderLoginSchema = z
  .object({
    ...checkCommon,
    enabled: z.boolean().default(true).describe('Refuse senders an authenticated account does not own (Postfix reject_sender_login_mismatch): MAIL FROM 553 5.7.1, From: 550 5.7.1'),
    observe: z.boolean().default(false).describe('Observe only (rollout): mismatches are logged (outbound.sender-mismatch) and shown as observed, and the mail is accepted'),
    failOpen: z.boolean().default(false).describe('When the map file cannot be read, log it (check.fail-open) and accept without this check instead of deferring with 451'),
    map: z
      .string()
      .min(1)
      .optional()
      .describe('File of "ADDRESS-or-@DOMAIN  ACCOUNT[,ACCOUNT...]" lines (Postfix smtpd_sender_login_maps), "#" comments: who may send as what, beside the account\'s own name and its LDAP addresses; read on first use and after SIGHUP'),
    headerFrom: z.boolean().default(true).describe('Also check the RFC 5322 From: field at end of data: every mailbox in it must be owned'),
  })
  .strict()
  .prefault({})
  .describe('Which sender addresses an AUTH account may use (MAIL FROM and From:); clients in trustedNetworks that did not AUTH are not checked');

export type SenderLoginConfig = z.infer<typeof senderLoginSchema>;
