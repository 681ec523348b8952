/**
 * Config slice `outbound`: mail the organization sends to the internet through Moat. Who may relay
 * (trusted LAN networks, or SMTP AUTH on submission listeners), how it leaves (MX delivery with
 * MTA-STS, or a transport per destination), what it gets (DKIM signatures, hidden LAN trace
 * headers) and how it is judged (its own thresholds and rate limits). Defaults live only here.
 */
import { z } from 'zod';
import { hostPort } from '../config/address.js';
import { duration } from '../config/duration.js';
import { rateLimitSchema } from '../checks/rate-limit/config.js';
import { networkList } from '../checks/match/networks.js';
import { tlsPolicy } from '../relay/config.js';
import { parseLdapUrl } from '../checks/recipients/config.js';
import { thresholdsSchema } from '../pipeline/config.js';
import { senderLoginSchema } from '../checks/sender-login/config.js';

const domainKey = z.string().regex(/^(?:\*|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)$/, 'a lower-case domain name, or "*" for every outbound domain');

const transportSchema = z.union([
  hostPort('Smarthost "ip:port" for this destination (opportunistic STARTTLS)'),
  z
    .object({
      relay: z.array(hostPort('Smarthost, "ip:port"')).min(1).describe('Hosts tried in order'),
      tls: tlsPolicy.describe('STARTTLS policy toward these hosts'),
    })
    .strict(),
]);

const dkimKeySchema = z
  .object({
    selector: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'a DNS label (or labels)').describe('Selector: the key is published at SELECTOR._domainkey.DOMAIN'),
    keyFile: z.string().min(1).describe('PEM private key (PKCS#8 or PKCS#1), as `moat dkim keygen` writes it (mode 0600)'),
    algorithm: z.enum(['rsa-sha256', 'ed25519-sha256']).optional().describe('Default: from the key type'),
  })
  .strict();

export const outboundSchema = z
  .object({
    trustedNetworks: networkList('LAN clients allowed to relay to any domain without AUTH (the LAN mail server); everyone else gets 554 5.7.1 for other domains'),
    smtpPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(25)
      .describe('Port of the MX hosts outbound mail is delivered to. Always 25 on the internet: it exists so that tests can point MX delivery at sinks on loopback'),
    auth: z
      .object({
        passwordFile: z
          .string()
          .min(1)
          .optional()
          .describe('File of "user:$scrypt$ln=14,r=8,p=1$SALT$HASH" lines (`moat passwd USER` makes one); read on first use and after SIGHUP'),
        ldap: z
          .object({
            url: z
              .string()
              .refine((u) => parseLdapUrl(u) !== null, { message: 'expected "ldap://IP[:port]" or "ldaps://IP[:port]" (an IP address: names are not resolved)' })
              .describe('Directory server to bind against; prefer ldaps:// (the password travels in the bind)'),
            userDn: z
              .string()
              .refine((t) => t.includes('%u'), { message: 'must contain %u (the AUTH username)' })
              .describe('DN to bind as, %u = the username escaped per RFC 4514, e.g. "uid=%u,ou=people,dc=example,dc=com"; Active Directory takes "%u" alone with a user@domain UPN'),
            timeout: duration('Deadline for connecting and binding; past it AUTH answers 454 4.7.0').prefault('5s'),
            tls: z
              .object({
                verify: z.boolean().default(true).describe('Verify the ldaps:// server certificate'),
                ca: z.string().optional().describe('PEM file of the CA that signed the directory server certificate'),
                servername: z.string().optional().describe('Name expected in the certificate; default: the IP address of the URL'),
              })
              .strict()
              .prefault({}),
            addressAttributes: z
              .array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an attribute name'))
              .default(['mail', 'proxyAddresses'])
              .describe('Attributes of the user\'s own entry that hold the addresses it owns (outbound.senderLogin), read after the bind with the user\'s credentials; proxyAddresses values count only as "SMTP:"/"smtp:"'),
            addressSearch: z
              .object({
                baseDn: z.string().min(1).describe('Where the user\'s entry is searched (scope sub)'),
                filter: z
                  .string()
                  .refine((t) => t.includes('%u'), { message: 'must contain %u (the AUTH username)' })
                  .describe('Filter that finds the user\'s entry, %u = the username escaped per RFC 4515, e.g. "(userPrincipalName=%u)"'),
              })
              .strict()
              .optional()
              .describe('Find the user\'s entry by a search instead of reading the bind DN: for Active Directory\'s userDn "%u" (a UPN is not a DN)'),
          })
          .strict()
          .optional()
          .describe('Check AUTH credentials by an LDAP simple bind (after the password file, when both are set)'),
      })
      .strict()
      .prefault({})
      .describe('SMTP AUTH (PLAIN, LOGIN) on listeners with submission or implicitTls, after TLS only'),
    senderLogin: senderLoginSchema,
    transports: z
      .record(domainKey, transportSchema)
      .default({})
      .describe('Per-destination transport instead of MX delivery, e.g. { "partner.example": "10.0.0.9:25", "*": "10.0.0.8:587" } ("*": every other outbound domain, a smarthost)'),
    tls: z
      .object({
        ca: z.string().min(1).optional().describe('PEM file of extra trust anchors for verified TLS to MX hosts (MTA-STS) and policy hosts, beside the bundled public roots (a private PKI; tests)'),
      })
      .strict()
      .prefault({}),
    mtaSts: z
      .object({
        enabled: z.boolean().default(true).describe('Apply MTA-STS (RFC 8461) policies of recipient domains'),
        httpsPort: z.number().int().min(1).max(65535).default(443).describe('Port of the policy hosts. Always 443 on the internet: it exists for tests'),
        timeout: duration('Deadline to fetch a policy').prefault('10s'),
      })
      .strict()
      .prefault({}),
    dane: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('Apply DANE (RFC 7672) to MX hosts with signed TLSA records; takes effect only with dns.dnssec: trusted (a validating resolver on loopback), and takes precedence over MTA-STS'),
      })
      .strict()
      .prefault({}),
    dkim: z
      .record(domainKey, dkimKeySchema)
      .default({})
      .describe('DKIM keys per RFC5322.From domain (RFC 6376); mail from other domains is sent unsigned'),
    hideInternalReceived: z
      .boolean()
      .default(true)
      .describe('Drop the Received: fields added inside the LAN (from trustedNetworks) and add ours without the LAN client\'s name and address'),
    policy: thresholdsSchema
      .partial()
      .prefault({})
      .describe('Score thresholds for outbound mail (unset: the inbound ones); a quarantined outbound message also logs outbound.alert'),
    rateLimit: rateLimitSchema.describe('Rate limits for outbound sessions; "client" is the authenticated account, or the client network'),
    skipChecks: z
      .array(z.string().regex(/^[a-z][a-z0-9-]*$/, 'a check name, e.g. "dnsbl"'))
      .default(['pregreet', 'dnsbl', 'rdns', 'helo', 'spf', 'sender-domain', 'auth', 'greylist'])
      .describe('Checks not run for outbound sessions and on submission/implicit-TLS listeners (reputation and sender authentication judge the internet\'s mail, not the organization\'s; DMARC would refuse our own mail before it is signed)'),
    rememberRecipients: duration('How long an address the organization wrote to is remembered (greylisting skips it as a sender); 0: not at all').prefault('180d'),
  })
  .strict()
  .prefault({})
  .describe('Outbound relay: mail from the LAN server or authenticated users to the internet');

export type OutboundConfig = z.infer<typeof outboundSchema>;
export type TransportConfig = z.infer<typeof transportSchema>;
export type DkimKeyConfig = z.infer<typeof dkimKeySchema>;
