/** "ip:port" / "[ipv6]:port" strings in config, validated once. */
import { isIP } from 'node:net';
import { z } from 'zod';

export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  if (text.startsWith('[') ? isIP(host) !== 6 : isIP(host) !== 4) return null;
  return { host, port };
}

export const hostPort = (description: string) =>
  z
    .string()
    .refine((s) => parseHostPort(s) !== null, { message: 'expected "IPv4:port" or "[IPv6]:port", e.g. "10.0.0.5:25" or "[::1]:25"' })
    .describe(description);
