/** Config slice `dns`: the servers every DNS lookup goes to, the retry discipline and the cache. */
import { z } from 'zod';
import { hostPort } from '../../config/address.js';
import { duration } from '../../config/duration.js';

const cacheSchema = z
  .object({
    maxEntries: z.number().int().min(0).max(10_000_000).default(10_000).describe('Answers kept, per worker process; past it the least recently used goes (0: no cache)'),
    minTtl: duration('Shortest time an answer is kept, whatever its TTL (raises TTL 0)').prefault(0),
    maxTtl: duration('Longest time an answer is kept, whatever its TTL').prefault('1d'),
    negativeTtl: duration('How long NXDOMAIN/NODATA is kept when the reply has no SOA to tell (RFC 2308 §5)').prefault('1m'),
  })
  .strict()
  .refine((c) => c.minTtl <= c.maxTtl, { message: 'minTtl must not exceed maxTtl', path: ['minTtl'] })
  .prefault({});

export const dnsSchema = z
  .object({
    servers: z
      .array(hostPort('DNS server, "ip:port" or "[ipv6]:port"'))
      .min(1)
      .optional()
      .describe('Recursive resolvers for every DNS lookup, asked in order; default: the nameservers of /etc/resolv.conf'),
    timeout: duration('Deadline for one try of one query (UDP, and TCP after a truncated reply)').prefault('5s'),
    tries: z.number().int().min(1).max(10).default(2).describe('Tries per server; a lookup moves to the next server after each failed try'),
    cache: cacheSchema.describe('Answer cache honouring TTLs (negative answers per RFC 2308)'),
    dnssec: z
      .enum(['off', 'trusted'])
      .default('off')
      .describe(
        'trusted: the servers validate DNSSEC and are on this host, so their AD bit is believed (needed for DANE, RFC 7672). Moat never validates signatures itself; a stub may trust AD only over a secure path (RFC 4035 §4.9.3), so every server must be a loopback address',
      ),
  })
  .strict()
  .refine((d) => d.dnssec === 'off' || (d.servers !== undefined && d.servers.every(isLoopbackServer)), {
    message: 'dnssec: trusted needs dns.servers, all on loopback (127.0.0.0/8 or [::1]): AD from a remote resolver can be forged on the way (RFC 4035 §4.9.3)',
    path: ['dnssec'],
  })
  .prefault({});

function isLoopbackServer(s: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+$/.test(s) || /^\[::1\]:\d+$/.test(s);
}

export type DnsConfig = z.infer<typeof dnsSchema>;
