/** Config slice: where each domain's mail goes, and how Moat talks to those servers. */
import { z } from 'zod';
import { hostPort } from '../config/address.js';
import { duration } from '../config/duration.js';
import { recipientsDomainSchema } from '../checks/recipients/config.js';

export const tlsPolicy = z
  .object({
    policy: z.enum(['none', 'opportunistic', 'required']).default('opportunistic').describe('STARTTLS toward this server: never, when offered, or always (else defer)'),
    verify: z.boolean().default(false).describe('Verify the server certificate (needs a CA that signed it)'),
    ca: z.string().optional().describe('PEM file of the CA to trust for verification'),
    servername: z.string().optional().describe('Name expected in the certificate (SNI and verification)'),
  })
  .strict()
  .prefault({});

export const domainSchema = z
  .object({
    relay: z.array(hostPort('LAN server, "ip:port"')).min(1).describe('LAN mail servers for this domain, tried in order'),
    tls: tlsPolicy.describe('STARTTLS policy toward the LAN servers'),
    recipients: recipientsDomainSchema.optional(),
  })
  .strict();

export const deliverySchema = z
  .object({
    concurrencyPerDestination: z.number().int().min(1).max(1000).default(20).describe('Parallel connections to one LAN server, per worker'),
    connectTimeout: duration('Deadline to connect and get the greeting').prefault(30),
    commandTimeout: duration('Deadline for each command reply').prefault(300),
    dataTimeout: duration('Deadline for the reply after the message content').prefault(600),
    idleConnectionTime: duration('How long an idle connection is kept for reuse').prefault(5),
    mxPort: z.number().int().min(1).max(65535).default(25).describe('Port for delivery by MX lookup (bounces to senders outside our domains)'),
  })
  .strict()
  .prefault({});

export type DomainConfig = z.infer<typeof domainSchema>;
export type DeliveryConfig = z.infer<typeof deliverySchema>;
