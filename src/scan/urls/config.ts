/**
 * Config slice `checks.urls`. Zones are validated here with the entry's path in every error
 * (`checks.urls.zones[1]: "multi.surbl.org=127.0.0.[9..2]": bad filter: ...`) and kept as written
 * (the config crosses the supervisor→worker IPC as JSON); the check parses them again when built.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { parseZones } from './zones.js';

export const DEFAULT_SHORTENERS: readonly string[] = [
  'bit.ly', 'bitly.com', 't.co', 'tinyurl.com', 'goo.gl', 'ow.ly', 'is.gd', 'v.gd', 'buff.ly', 'rebrand.ly', 'cutt.ly', 'rb.gy', 'shorturl.at',
  'tiny.cc', 'tr.im', 'bl.ink', 'soo.gd', 's.id', 'shorte.st', 'adf.ly', 'lnkd.in', 'qrco.de', 'x.gd', 't.ly', 'tiny.one',
];

const zoneEntry = z.union([
  z.string(),
  z
    .object({
      zone: z.string().describe('The zone in postscreen site syntax: domain[=filter][*score]'),
      name: z.string().optional().describe('Symbol of this zone (default URIBL_<ZONE>)'),
      score: z.number().optional().describe('Score of a listing (default 3, or the "*score" of the zone text)'),
      domains: z.boolean().optional().describe('Ask about registrable domains of URL hosts (default true)'),
      ips: z.boolean().optional().describe('Ask about IPv4-literal URL hosts, reversed (default true; off for domain-only lists such as Spamhaus DBL)'),
    })
    .strict(),
]);

const hostName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, { message: 'expected a lower-case host name in A-labels, e.g. "bit.ly"' });

export const urlsSchema = z
  .object({
    ...checkCommon,
    zones: z
      .array(zoneEntry)
      .default([])
      .superRefine((entries, ctx) => {
        const r = parseZones(entries);
        if (!r.ok) for (const e of r.errors) ctx.addIssue({ code: 'custom', message: e.message, path: [e.index] });
      })
      .describe(
        'URI blocklists (SURBL/URIBL/DBL style), one per entry: "multi.surbl.org=127.0.0.[2..255]*4", or { zone, name: symbol, score, domains, ips }; default none (README lists suggestions). Answers 127.0.0.1 and 127.255.255.x are refusals (URIBL_BLOCKED), never listings',
      ),
    maxUrls: z.number().int().min(1).max(10_000).default(500).describe('Distinct URLs extracted per message'),
    maxPerHost: z.number().int().min(1).max(10_000).default(20).describe('Distinct URLs kept per host (so many links to one host cannot push others out)'),
    maxLookups: z.number().int().min(1).max(200).default(20).describe('Distinct domains and IPs asked about per message, each in every zone (links first, then text, then images)'),
    manyDomains: z.number().int().min(2).max(10_000).default(20).describe('Distinct registrable domains in one message at or above which URL_MANY_DOMAINS is found'),
    shorteners: z.array(hostName).default([...DEFAULT_SHORTENERS]).describe('URL shortener hosts (and their subdomains): flagged URL_SHORTENER, never expanded, not asked about'),
  })
  .strict()
  .prefault({})
  .describe('urls: URI blocklists over DNS, link text/target mismatch, IP-literal, obfuscated and homograph links, remote HTML forms');

export type UrlsConfig = z.infer<typeof urlsSchema>;
