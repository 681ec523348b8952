/**
 * The system's resolvers, for when config names none: the `nameserver` lines of resolv.conf(5),
 * at most three (glibc's MAXNS), each on port 53; 127.0.0.1 when there is none (resolv.conf(5)).
 * Trusts: the file to be the system's. Fails: an unreadable file is treated as one without lines.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** "ip:port" / "[ipv6]:port" for each valid nameserver line. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(raw);
    const ip = m?.[1];
    if (ip === undefined || out.length >= 3) continue;
    const family = isIP(ip);
    if (family === 4) out.push(`${ip}:53`);
    else if (family === 6) out.push(`[${ip}]:53`);
  }
  return out;
}

export function systemServers(path = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  const servers = parseResolvConf(text);
  return servers.length > 0 ? servers : ['127.0.0.1:53'];
}
