/**
 * Moat's one DNS resolver: a stub client (RD=1) toward configured recursive resolvers, with a cache
 * that honours TTLs (clamped to [minTtl, maxTtl]) and caches NXDOMAIN/NODATA for the SOA's negative
 * TTL (RFC 2308 §5), and that joins identical queries in flight (one packet for N callers).
 * Retries: each server gets `tries` tries of `timeout` each, round-robin from the first server
 * (worst case timeout × tries × servers). A server that answered with an RCODE error (SERVFAIL,
 * REFUSED, NOTIMP, FORMERR) or nonsense is not asked again within that lookup; timeouts and
 * socket errors are retried. The reported error is the last RCODE error, else the last TIMEOUT or
 * NETWORK.
 * Wire: UDP through a small socket pool per server (udp.ts), TCP after a truncated reply (client.ts).
 * DNSSEC (option `trustAd`, config dns.dnssec: trusted): every query asks for AD and DO, and an
 * answer whose reply had AD set is marked `secure` (also in the cache). We never validate
 * signatures: the AD bit is worth only what the path to the resolver is (RFC 4035 §4.9.3, RFC 7672
 * §1.3), so the config allows it only for loopback servers. Without the option nothing is secure.
 * Trusts: the servers it is given (a recursive resolver validates what it passes on); udp.ts and
 * message.ts for the anti-spoofing checks. Fails: never throws; typed answers only; errors are never cached.
 * An AbortSignal ends only its caller's wait (ABORTED); the query goes on for the others and the cache.
 */
import { parseHostPort } from '../../config/address.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { AnswerCache } from './cache.js';
import { exchangeTcp, randomId } from './client.js';
import type { ExchangeOptions, Server } from './client.js';
import type { DnsConfig } from './config.js';
import { interpret } from './message.js';
import type { Meaning } from './message.js';
import { normalizeName, reverseName } from './names.js';
import { RECORD_TYPES } from './types.js';
import { UdpPool } from './udp.js';
import type { UdpPoolLimits } from './udp.js';
import type { DnsAnswer, DnsErrorCode, MxRecord, RecordOf, RecordType, Resolver, ResolverStats } from './types.js';

export interface ResolverOptions {
  /** "ip:port" or "[ipv6]:port", asked in this order; at least one. */
  readonly servers: readonly string[];
  /** Per try, in milliseconds. */
  readonly timeout: number;
  readonly tries: number;
  /** As the config gives it (durations in milliseconds). */
  readonly cache: DnsConfig['cache'];
  readonly clock?: Clock;
  /** EDNS0 UDP payload size to advertise (RFC 6891 §6.2.5; 1232 avoids IP fragmentation); 0: no EDNS. */
  readonly udpPayloadSize?: number;
  /** The servers validate DNSSEC and the path to them is safe: believe their AD bit. */
  readonly trustAd?: boolean;
  /** UDP sockets per server and queries per socket before it is retired (udp.ts). */
  readonly udpPool?: UdpPoolLimits;
}

const DEFAULT_POOL: UdpPoolLimits = { maxSockets: 8, queriesPerSocket: 100 };

type AnyAnswer = DnsAnswer<unknown>;

const BADNAME: AnyAnswer = Object.freeze({ kind: 'error', code: 'BADNAME' });
const ABORTED: AnyAnswer = Object.freeze({ kind: 'error', code: 'ABORTED' });
const NOTIMP: AnyAnswer = Object.freeze({ kind: 'error', code: 'NOTIMP' });
/** Codes that mean the server answered: asking it again in the same lookup would not help. */
const ANSWERED: ReadonlySet<DnsErrorCode> = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR', 'BADRESPONSE']);
const KNOWN_TYPES: ReadonlySet<string> = new Set(RECORD_TYPES);

function parseServer(s: string): Server {
  const hp = parseHostPort(s);
  if (hp === null) throw new Error(`dns: bad server address "${s}" (expected "ip:port" or "[ipv6]:port")`);
  return { host: hp.host, port: hp.port, family: hp.host.includes(':') ? 6 : 4 };
}

function waitOrAbort(p: Promise<AnyAnswer>, signal: AbortSignal | undefined): Promise<AnyAnswer> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then((a) => {
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    });
  });
}

export function createResolver(options: ResolverOptions): Resolver {
  const servers = options.servers.map(parseServer);
  if (servers.length === 0) throw new Error('dns: at least one server is needed');
  const clock = options.clock ?? systemClock;
  const tries = Math.max(1, options.tries);
  const udpSize = options.udpPayloadSize ?? 1232;
  const dnssec = options.trustAd === true;
  const minTtl = Math.floor(options.cache.minTtl / 1000);
  const maxTtl = Math.floor(options.cache.maxTtl / 1000);
  const defaultNegativeTtl = Math.floor(options.cache.negativeTtl / 1000);
  const cache = new AnswerCache(options.cache.maxEntries, clock);
  const inflight = new Map<string, Promise<AnyAnswer>>();
  const counters = { queries: 0, cacheHits: 0, timeouts: 0, inflightJoins: 0, dropped: 0 };
  const xopts: ExchangeOptions = { timeoutMs: options.timeout, clock };
  const onDrop = (): void => void counters.dropped++;
  const pools = new Map(servers.map((s) => [s, new UdpPool(s, options.udpPool ?? DEFAULT_POOL, onDrop)] as const));

  const clamp = (ttl: number): number => Math.min(maxTtl, Math.max(minTtl, ttl));

  /** One try at one server: UDP, then TCP if truncated; without EDNS again if the server rejects it. */
  async function attempt(server: Server, name: string, type: RecordType): Promise<Meaning<unknown>> {
    let size = udpSize;
    for (;;) {
      const q = { name, type, udpSize: size, dnssec };
      counters.queries++;
      let ex = await (pools.get(server) as UdpPool).exchange(q, xopts);
      if (ex.kind === 'reply' && ex.reply.truncated) {
        counters.queries++;
        ex = await exchangeTcp(server, { ...q, id: randomId() }, xopts);
      }
      if (ex.kind === 'fail') {
        if (ex.code === 'TIMEOUT') counters.timeouts++;
        return { kind: 'error', code: ex.code };
      }
      // RFC 6891 §7: FORMERR without an OPT in the reply: the server does not speak EDNS; ask plainly.
      if (ex.reply.rcode === 1 && !ex.reply.edns && size > 0) {
        size = 0;
        continue;
      }
      const m = interpret(ex.reply, q);
      return dnssec && ex.reply.ad && m.kind !== 'error' ? { ...m, secure: true } : m;
    }
  }

  async function network(name: string, type: RecordType): Promise<AnyAnswer> {
    let code: DnsErrorCode = 'TIMEOUT';
    let answered = false;
    const given = new Set<Server>();
    for (let round = 0; round < tries; round++) {
      for (const server of servers) {
        if (given.has(server)) continue;
        const m = await attempt(server, name, type);
        const secure = m.kind !== 'error' && m.secure === true ? ({ secure: true } as const) : {};
        if (m.kind === 'ok') {
          const ttl = clamp(m.ttl);
          cache.set(name, type, { kind: 'ok', records: m.records, ...secure }, ttl);
          return { kind: 'ok', records: m.records, ttl, ...secure };
        }
        if (m.kind === 'none') {
          const ttl = clamp(m.ttl ?? defaultNegativeTtl);
          cache.set(name, type, { kind: 'none', reason: m.reason, ...secure }, ttl);
          return Object.freeze({ kind: 'none', reason: m.reason, ttl, ...secure });
        }
        if (ANSWERED.has(m.code)) {
          given.add(server);
          answered = true;
          code = m.code;
        } else if (!answered) {
          code = m.code;
        }
      }
    }
    return Object.freeze({ kind: 'error', code });
  }

  function lookup<T extends RecordType>(name: string, type: T, signal?: AbortSignal): Promise<DnsAnswer<RecordOf<T>>> {
    // Callers in plain JS (mailauth through node-style.ts) may pass anything.
    if (typeof name !== 'string') return Promise.resolve(BADNAME as DnsAnswer<RecordOf<T>>);
    // Hit path: only valid, normalized names are ever stored, so the quick form finds them.
    const quick = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
    const hit = cache.get<RecordOf<T>>(quick, type);
    if (hit !== undefined) {
      counters.cacheHits++;
      return Promise.resolve(hit);
    }
    if (normalizeName(name) === null) return Promise.resolve(BADNAME as DnsAnswer<RecordOf<T>>);
    if (!KNOWN_TYPES.has(type)) return Promise.resolve(NOTIMP as DnsAnswer<RecordOf<T>>);
    if (signal?.aborted === true) return Promise.resolve(ABORTED as DnsAnswer<RecordOf<T>>);
    const key = `${type}:${quick}`;
    let p = inflight.get(key);
    if (p !== undefined) {
      counters.inflightJoins++;
    } else {
      p = network(quick, type)
        .catch((): AnyAnswer => ({ kind: 'error', code: 'NETWORK' }))
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return waitOrAbort(p, signal) as Promise<DnsAnswer<RecordOf<T>>>;
  }

  async function addresses(host: string): Promise<DnsAnswer<string>> {
    const [a, aaaa] = await Promise.all([lookup(host, 'A'), lookup(host, 'AAAA')]);
    const ok = [a, aaaa].filter((x) => x.kind === 'ok');
    // Secure when every RRset that gave addresses was (RFC 7672 §2.2.2 asks about the addresses used).
    const secure = ok.every((x) => x.secure === true) ? ({ secure: true } as const) : {};
    if (ok.length === 1 && ok[0] !== undefined) return ok[0];
    if (ok.length === 2) return { kind: 'ok', records: ok.flatMap((x) => x.records), ttl: Math.min(...ok.map((x) => x.ttl)), ...secure };
    if (a.kind === 'error') return a;
    if (aaaa.kind === 'error') return aaaa;
    if (a.kind !== 'none' || aaaa.kind !== 'none') return { kind: 'error', code: 'BADRESPONSE' };
    const bothSecure = a.secure === true && aaaa.secure === true ? ({ secure: true } as const) : {};
    return { kind: 'none', reason: a.reason === 'nxdomain' || aaaa.reason === 'nxdomain' ? 'nxdomain' : 'nodata', ttl: Math.min(a.ttl, aaaa.ttl), ...bothSecure };
  }

  return {
    lookup,
    mx: (domain: string): Promise<DnsAnswer<MxRecord>> => lookup(domain, 'MX'),
    addresses,
    reverse: (ip: string, signal?: AbortSignal): Promise<DnsAnswer<string>> => {
      const n = reverseName(ip);
      return n === null ? Promise.resolve(BADNAME as DnsAnswer<string>) : lookup(n, 'PTR', signal);
    },
    stats: (): ResolverStats => ({ ...counters }),
  };
}
