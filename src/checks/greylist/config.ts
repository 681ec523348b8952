/**
 * Config slice `checks.greylist`: greylisting of (client network, sender, recipient) triplets.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { domainList } from '../match/domains.js';
import { networkList, networkPrefix } from '../match/networks.js';
import { checkCommon } from '../options.js';

export const greylistSchema = z
  .object({
    ...checkCommon,
    enabled: z.boolean().default(false).describe('Run greylisting (off by default: it delays the first mail of every new sender)'),
    failOpen: z
      .boolean()
      .default(true)
      .describe('When the state store fails, accept without greylisting (logged as check.fail-open); false: defer with 451 (GREYLIST_TEMPFAIL)'),
    delay: duration('How long a new triplet is deferred; a retry after this passes').prefault('5m'),
    retryWindow: duration('How long after the first attempt a retry is still taken as one; later, the triplet starts anew').prefault('2d'),
    lifetime: duration('How long a triplet that passed (and an auto-allowed network) is remembered; each pass refreshes it').prefault('35d'),
    autoAllowAfter: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('A client network that passed this many distinct triplets skips greylisting for `lifetime`; 0: never'),
    network: networkPrefix('How much of the client address the triplet holds (a sender retries from other hosts of its pool)', 24, 64),
    internalNetworks: networkList('Clients never greylisted (the LAN, its relays, partners)'),
    skipSpfPassDomains: domainList('Sender domains not greylisted when SPF passes for them (the spf fact), e.g. big providers that retry from other hosts'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.delay >= c.retryWindow) ctx.addIssue({ code: 'custom', path: ['retryWindow'], message: 'must be longer than delay' });
    if (c.retryWindow > c.lifetime) ctx.addIssue({ code: 'custom', path: ['lifetime'], message: 'must not be shorter than retryWindow' });
  })
  .prefault({})
  .describe('Greylisting of (client network, sender, recipient) triplets at RCPT');

export type GreylistConfig = z.infer<typeof greylistSchema>;
