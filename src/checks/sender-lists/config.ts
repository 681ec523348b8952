/**
 * Config slice `checks.senderLists`: allow and deny lists for MAIL FROM and the client.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { parseMailbox } from '../../smtp/address.js';
import { duration } from '../../config/duration.js';
import { domainList } from '../match/domains.js';
import { networkList } from '../match/networks.js';
import { checkCommon } from '../options.js';

const address = z.string().refine((s) => parseMailbox(s).ok, { message: 'expected an address such as "user@example.com"' });
const pattern = z
  .string()
  .min(1)
  .max(320)
  .regex(/^[^\s<>]+$/, 'a pattern has no spaces or angle brackets');

const list = (what: 'allow' | 'deny') =>
  z
    .object({
      addresses: z.array(address).default([]).describe(`Envelope senders to ${what}, exact ("user@example.com"; case is ignored)`),
      domains: domainList(`Sender domains to ${what}: "example.com" that domain, ".example.com" its subdomains`),
      patterns: z
        .array(pattern)
        .default([])
        .describe(`Sender globs to ${what} over the whole address: "*" any characters, "?" one ("bounce-*@*.example.com"); domains in A-label form`),
      clients: networkList(`Client addresses and CIDR ranges to ${what} (IPv4 and IPv6)`),
    })
    .strict()
    .prefault({});

export const senderListsSchema = z
  .object({
    ...checkCommon,
    allow: list('allow').describe('Allowed senders/clients: symbol with action accept, and greylisting skips them'),
    deny: list('deny').describe('Denied senders/clients: refused at MAIL with 550 5.7.1 (a deny wins over an allow)'),
    internalNetworks: networkList(
      'Clients that may send as our own domains (the LAN, its outbound relays); a MAIL FROM in `domains` from any other client raises SENDER_OWN_DOMAIN_OUTSIDE',
    ),
    refresh: duration(
      'How often each worker re-reads the run-time allow/block entries (console, `moat senders`); a change on this node applies at once, this bounds how late one made on another node applies',
    ).prefault('30s'),
  })
  .strict()
  .prefault({})
  .describe('Allow and deny lists for MAIL FROM and the client, and our own domains used from outside');

export type SenderListsConfig = z.infer<typeof senderListsSchema>;
