/**
 * Config pieces the external scanners (clamav, spamassassin, rspamd) share: where the scanner
 * listens, its time budget and how many scans may run at once. Defaults live in each slice.
 */
import { z } from 'zod';
import { parseHostPort } from '../config/address.js';
import { duration } from '../config/duration.js';
import type { SocketTarget } from '../platform/scanner-io.js';

/** "ip:port", "[ipv6]:port" or an absolute unix socket path, parsed. */
export function parseSocketAddress(text: string): SocketTarget | null {
  if (text.startsWith('/')) return /[\0\r\n]/.test(text) ? null : { path: text };
  return parseHostPort(text);
}

export const socketAddress = (description: string, def: string) =>
  z
    .string()
    .refine((s) => parseSocketAddress(s) !== null, { message: 'expected "IPv4:port", "[IPv6]:port" or an absolute unix socket path' })
    .default(def)
    .describe(description);

export const scanTimeout = (def: string) =>
  duration('Time budget of one scan, waiting for a free slot included; past it the check fails (451 unless failOpen). policy.scanTimeout bounds all content checks together').prefault(def);

/** Octets of one message a scanner is sent at most (1 KiB to 1 GiB). */
export const scanMaxSize = (def: number, what: string) => z.number().int().min(1024).max(1 << 30).default(def).describe(what);

export const maxConcurrent = (what: string, def: number) =>
  z.number().int().min(1).max(1000).default(def).describe(`Scans at once per worker process (${what}); more wait for a slot`);
