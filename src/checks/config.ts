/**
 * Config slice `checks:`, composed of each check's own slice (its config.ts). Schema only: the config
 * schema loads no check implementation (enforced by .dependency-cruiser.cjs, config-loads-no-implementation).
 */
import { z } from 'zod';
import { pregreetSchema } from './pregreet/config.js';
import { dnsblSchema } from './dnsbl/config.js';
import { rdnsSchema } from './rdns/config.js';
import { heloSchema } from './helo/config.js';
import { senderListsSchema } from './sender-lists/config.js';
import { spfSchema } from './spf/config.js';
import { senderDomainSchema } from './sender-domain/config.js';
import { recipientsCheckSchema } from './recipients/config.js';
import { greylistSchema } from './greylist/config.js';
import { rateLimitSchema } from './rate-limit/config.js';
import { authSchema } from '../scan/auth/config.js';
import { structureSchema } from '../scan/structure/config.js';
import { rulesSchema } from '../scan/rules/config.js';
import { urlsSchema } from '../scan/urls/config.js';
import { attachmentsSchema } from '../scan/attachments/config.js';
import { bayesSchema } from '../scan/bayes/config.js';
import { clamavCheckSchema } from '../scan/clamav/config.js';
import { rspamdCheckSchema } from '../scan/rspamd/config.js';
import { spamassassinCheckSchema } from '../scan/spamd/config.js';

export const checksSchema = z
  .object({
    pregreet: pregreetSchema,
    dnsbl: dnsblSchema,
    rdns: rdnsSchema,
    helo: heloSchema,
    senderLists: senderListsSchema,
    spf: spfSchema,
    senderDomain: senderDomainSchema,
    recipients: recipientsCheckSchema,
    greylist: greylistSchema,
    rateLimit: rateLimitSchema,
    auth: authSchema,
    structure: structureSchema,
    rules: rulesSchema,
    urls: urlsSchema,
    attachments: attachmentsSchema,
    bayes: bayesSchema,
    clamav: clamavCheckSchema,
    rspamd: rspamdCheckSchema,
    spamassassin: spamassassinCheckSchema,
  })
  .strict()
  .prefault({})
  .describe('Connection, envelope and content checks (each with enabled/observe/failOpen)');

export type ChecksConfig = z.infer<typeof checksSchema>;
