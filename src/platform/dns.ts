/**
 * The one DNS resolver of the process (every lookup goes through it, never the system's getaddrinfo),
 * with configurable servers and timeout and a small cache. Errors are typed: NXDOMAIN/NODATA are
 * answers ("none"), anything else is a temporary failure the caller must treat as such.
 */
import { promises as dns } from 'node:dns';

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export type DnsAnswer<T> = { readonly kind: 'ok'; readonly records: T[] } | { readonly kind: 'none' } | { readonly kind: 'error'; readonly code: string };

export interface Resolver {
  mx(domain: string): Promise<DnsAnswer<MxRecord>>;
  addresses(host: string): Promise<DnsAnswer<string>>;
}

const NONE_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);
const CACHE_MS = 60_000;

export function createResolver(servers: readonly string[] | undefined, timeoutMs: number): Resolver {
  const r = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers) r.setServers([...servers]);
  const cache = new Map<string, { at: number; answer: DnsAnswer<unknown> }>();

  async function cached<T>(key: string, fn: () => Promise<T[]>): Promise<DnsAnswer<T>> {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.answer as DnsAnswer<T>;
    let answer: DnsAnswer<T>;
    try {
      const records = await fn();
      answer = records.length > 0 ? { kind: 'ok', records } : { kind: 'none' };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      answer = NONE_CODES.has(code) ? { kind: 'none' } : { kind: 'error', code };
    }
    if (answer.kind !== 'error') cache.set(key, { at: Date.now(), answer });
    if (cache.size > 10_000) cache.clear();
    return answer;
  }

  return {
    mx: (domain) => cached(`mx:${domain}`, () => r.resolveMx(domain)),
    addresses: async (host) => {
      const [a, aaaa] = await Promise.all([cached(`a:${host}`, () => r.resolve4(host)), cached(`aaaa:${host}`, () => r.resolve6(host))]);
      const records = [...(a.kind === 'ok' ? a.records : []), ...(aaaa.kind === 'ok' ? aaaa.records : [])];
      if (records.length > 0) return { kind: 'ok', records };
      if (a.kind === 'error') return a;
      if (aaaa.kind === 'error') return aaaa;
      return { kind: 'none' };
    },
  };
}
