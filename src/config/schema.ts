/**
 * The one config schema (CONVENTIONS.md 8): composed from module slices, parsed once, frozen. Defaults
 * live only here and in the slices. Types are inferred; nothing reads YAML at request time.
 */
import { z } from 'zod';
import { parseDomain } from '../smtp/address.js';
import { parseCidr } from '../smtp/server/ip.js';
import { deliverySchema, domainSchema } from '../relay/config.js';
import { queueSchema } from '../queue/config.js';
import { serverTlsSchema } from '../platform/tls-config.js';
import { policySchema } from '../pipeline/config.js';
import { checksSchema } from '../checks/config.js';
import { quarantineSchema } from '../quarantine/config.js';
import { clusterSchema, messageLogSchema, postgresSchema, redisSchema } from '../store/config.js';
import { adminSchema } from '../admin/config.js';
import { dnsSchema } from '../platform/dns/config.js';
import { outboundSchema } from '../outbound/config.js';
import { clamavSchema } from '../scan/clamav/config.js';
import { rspamdSchema } from '../scan/rspamd/config.js';
import { spamassassinSchema } from '../scan/spamd/config.js';
import { hostPort } from './address.js';
import { duration } from './duration.js';

const listenerSchema = z
  .object({
    address: hostPort('Address to listen on, "ip:port"; IPv6 as "[::]:25"'),
    tls: serverTlsSchema.optional().describe('Enables STARTTLS on this listener'),
    proxyProtocol: z
      .boolean()
      .default(false)
      .describe('Expect a PROXY protocol v1 or v2 header (HAProxy send-proxy, send-proxy-v2) before the greeting; the client address and port are taken from it'),
    trustedProxies: z
      .array(z.string().refine((c) => parseCidr(c) !== null, { message: 'expected an address or CIDR, e.g. "10.0.0.0/8" or "::1/128"' }))
      .min(1)
      .optional()
      .describe('Addresses or CIDRs of the proxies allowed to send that header; required with proxyProtocol. Any other peer is closed without a greeting'),
    proxyTimeout: duration('Deadline for the whole PROXY header to arrive').prefault('5s'),
    submission: z
      .boolean()
      .default(false)
      .describe('Message submission (port 587, RFC 6409): STARTTLS required before MAIL (530 5.7.0), SMTP AUTH offered after it, MAIL without AUTH refused (530 5.7.0) unless the client is in outbound.trustedNetworks; needs tls'),
    implicitTls: z
      .boolean()
      .default(false)
      .describe('TLS from the first octet (port 465, RFC 8314 §3), SMTP AUTH offered; needs tls'),
  })
  .strict()
  .superRefine((l, ctx) => {
    if ((l.submission || l.implicitTls) && !l.tls) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'required with submission or implicitTls' });
    if (l.proxyProtocol && !l.trustedProxies) ctx.addIssue({ code: 'custom', path: ['trustedProxies'], message: 'required when proxyProtocol is true' });
  });

const rateSchema = (what: string) =>
  z
    .object({
      count: z.number().int().min(1).max(1_000_000).describe(`${what} allowed per window`),
      per: duration('The window').refine((ms) => ms > 0, { message: 'must be longer than 0' }),
    })
    .strict();

const limitsSchema = z
  .object({
    maxMessageSize: z.number().int().min(1024).max(1 << 30).default(26_214_400).describe('Largest message accepted, in octets (advertised as SIZE)'),
    maxHeaderSize: z.number().int().min(1024).max(16 << 20).default(262_144).describe('Largest header section accepted, in octets'),
    maxRecipients: z.number().int().min(1).max(100_000).default(100).describe('Recipients per message; more get 452 4.5.3'),
    maxConnections: z.number().int().min(1).max(1_000_000).default(1000).describe('Concurrent SMTP sessions, gateway-wide (all workers together); more get 421 4.7.0'),
    maxConnectionsPerIp: z.number().int().min(1).max(100_000).default(20).describe('Concurrent SMTP sessions from one client IP, gateway-wide; more get 421 4.7.0'),
    maxConnectionsPerNet: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe('Concurrent SMTP sessions from one client network (IPv4 /24, IPv6 /64), gateway-wide; more get 421 4.7.0'),
    connectionRate: rateSchema('New connections')
      .optional()
      .describe('New connections per client IP in a window that starts at its first connection (as Postfix anvil); more get 421 4.7.0. Unset: no limit'),
    maxErrors: z.number().int().min(1).max(1000).default(10).describe('Error replies (4xx/5xx) to commands since the last accepted message, before 421 4.7.0 and disconnect'),
    tarpit: z
      .object({
        afterErrors: z.number().int().min(0).max(1000).default(2).describe('Errors answered at full speed'),
        delay: duration('Delay added per error beyond afterErrors').prefault('1s'),
        maxDelay: duration('Longest delay').prefault('10s'),
      })
      .strict()
      .prefault({})
      .describe('Slow down clients that make errors (as Postfix smtpd_error_sleep_time): the reply after the n-th error waits min(maxDelay, delay × (n − afterErrors)); bounded by the session deadline'),
    commandRate: rateSchema('Commands')
      .optional()
      .describe('Commands per session in a window that starts at its first command; more: 421 4.7.0 and disconnect. Unset: no limit'),
    commandTimeout: duration('Deadline for a command line to arrive complete').prefault('5m'),
    idleTimeout: duration('Deadline for the first octet of the next command (the command deadline still bounds the whole line); default: commandTimeout, at most commandTimeout').optional(),
    dataTimeout: duration('Deadline for the whole message content').prefault('10m'),
    sessionTimeout: duration('Deadline for a whole SMTP session').prefault('30m'),
    pipelineBuffer: z.number().int().min(4096).max(16 << 20).default(65_536).describe('Unread pipelined input held before the socket is paused'),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.idleTimeout !== undefined && l.idleTimeout > l.commandTimeout) ctx.addIssue({ code: 'custom', path: ['idleTimeout'], message: 'must not be longer than commandTimeout' });
  })
  .prefault({});

const domainName = z.string().refine((d) => parseDomain(d) !== null && !d.startsWith('['), { message: 'not a valid domain name' });

export const configSchema = z
  .object({
    hostname: z
      .string()
      .refine((h) => parseDomain(h) !== null && h.includes('.'), { message: 'must be a fully qualified domain name' })
      .describe('Our name in the banner, EHLO, Received: and DSNs'),
    listen: z.array(listenerSchema).min(1).describe('SMTP listeners'),
    domains: z
      .record(domainName, domainSchema)
      .refine((d) => Object.keys(d).length > 0, { message: 'at least one domain is required: Moat accepts mail only for these' })
      .describe('The only domains Moat accepts mail for, and their LAN servers'),
    dataDir: z.string().min(1).describe('Spool and embedded stores'),
    user: z.string().min(1).optional().describe('Started as root: the user to switch to once the listeners are bound (e.g. "moat"); owns dataDir'),
    group: z.string().min(1).optional().describe('Group to switch to with `user`; default: the user\'s own group'),
    allowRoot: z.boolean().default(false).describe('Run as root when started as root without `user` (only where root is not the host\'s root, e.g. a user-namespaced container)'),
    node: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-", at most 63')
      .optional()
      .describe('This node\'s name in logs, metrics and the message log (several nodes sharing Redis/PostgreSQL); default: the host name'),
    state: z
      .string()
      .regex(/^(sqlite:|rediss?:\/\/)/, 'expected "sqlite:", "sqlite:/path/to/state.db" or "redis://HOST:PORT/DB"')
      .default('sqlite:')
      .describe('Learned state (greylist, rate limits, pregreet passes, recipient cache): "sqlite:" = dataDir/state.db, "sqlite:PATH", or "redis://[:PASSWORD@]HOST:PORT/DB" (rediss:// for TLS) shared by several nodes, which then holds the Bayes tokens too (checks.bayes.store is not used)'),
    redis: redisSchema,
    store: z
      .string()
      .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'expected "sqlite:", "sqlite:/path/to/store.db" or "postgres://USER@HOST:PORT/DB"')
      .default('sqlite:')
      .describe('Message store (message log, quarantine, console users): "sqlite:" = dataDir/store.db, "sqlite:PATH", or "postgres://USER[:PASSWORD]@HOST:PORT/DB" shared by several nodes'),
    postgres: postgresSchema,
    cluster: clusterSchema,
    dns: dnsSchema,
    limits: limitsSchema,
    queue: queueSchema,
    delivery: deliverySchema,
    checks: checksSchema,
    clamav: clamavSchema.optional(),
    spamassassin: spamassassinSchema.optional(),
    rspamd: rspamdSchema.optional(),
    policy: policySchema,
    quarantine: quarantineSchema,
    outbound: outboundSchema,
    messageLog: messageLogSchema,
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto').describe('Worker processes ("auto" = one per core)'),
    shutdownGrace: duration('On SIGTERM, how long open transactions may take to finish').prefault('30s'),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Least severe level written'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto').describe('"auto": JSON lines, or a short human format on a terminal'),
      })
      .strict()
      .prefault({}),
    admin: adminSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.quarantine.digest.enabled && !c.admin.publicUrl) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'publicUrl'], message: 'required when quarantine.digest.enabled: the digest\'s release links point there' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
