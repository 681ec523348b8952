/**
 * Config slice `checks.dnsbl`. Sites are validated here, at config time, with the entry's path in
 * every error (`checks.dnsbl.sites[2]: "zen.spamhaus.org=127.0.0.[5..2]": bad filter: ...`); the
 * config keeps them as written (it crosses the supervisor→worker IPC as JSON) and the check parses
 * them again when it is built, once per config.
 */
import { z } from 'zod';
import { checkCommon } from '../options.js';
import { buildSites } from './sites.js';

const siteEntry = z.union([
  z.string(),
  z
    .object({
      site: z.string().describe('The site in postscreen syntax: domain[=filter][*weight]'),
      name: z.string().optional().describe('Symbol of this site (default DNSBL_<ZONE>, DNSWL_<ZONE> for a negative weight)'),
      reply: z.string().optional().describe('Name shown in the reject reply, logs and symbol instead of the zone (hide a subscription key)'),
    })
    .strict(),
]);

export const dnsblSchema = z
  .object({
    ...checkCommon,
    sites: z
      .array(siteEntry)
      .default([])
      .superRefine((entries, ctx) => {
        const r = buildSites(entries);
        if (!r.ok) for (const e of r.errors) ctx.addIssue({ code: 'custom', message: e.message, path: e.field === null ? [e.index] : [e.index, e.field] });
      })
      .describe(
        'DNS block/allow lists in postscreen_dnsbl_sites syntax, one per entry: "zen.spamhaus.org=127.0.0.[2..11]*3", "list.dnswl.org=127.0.[0..255].[1..3]*-2", or { site, name: symbol, reply: name shown instead of the zone }; default none (README lists suggestions)',
      ),
    threshold: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(3)
      .describe('Sum of the weights of the listing sites at or above which the client is refused at connect (554 5.7.1)'),
    allowlistThreshold: z
      .number()
      .int()
      .min(-1000)
      .max(-1)
      .nullable()
      .default(-1)
      .describe('Sum of weights at or below which the client counts as allowlisted (DNSWL): later checks that honour it skip; null: never'),
  })
  .strict()
  .prefault({})
  .describe('DNSBL/DNSWL lookups of the client address at connect');

export type DnsblConfig = z.infer<typeof dnsblSchema>;
