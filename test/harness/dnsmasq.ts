// dnsmasq as a tiny authoritative DNS server on loopback, built from a typed zone description.
// Trusts: dnsmasq-base 2.90 (peers.md section 1): no-resolv/no-hosts/no-poll so it never forwards
// and never reads the host's files; local=/test/ and local=/127.in-addr.arpa/ so unknown names are
// NXDOMAIN (not REFUSED); names outside the local suffixes are REFUSED, never forwarded.
// Fails: invalid names/values throw before start; startup failure or no DNS answer within the
// bound rejects with dnsmasq's output. Readiness is a real query through node:dns Resolver.
import { promises as dns } from 'node:dns';
import { writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { startProcess } from './process.js';
import type { ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

export interface DnsZone {
  /** A/AAAA records that also create the matching PTR (host-record). */
  readonly hosts?: readonly { readonly name: string; readonly addresses: readonly string[] }[];
  /** address=/name/ip: answers name *and every subdomain*; no PTR. */
  readonly addresses?: readonly { readonly name: string; readonly address: string }[];
  /** Explicit PTR records: by IP (IPv4 or IPv6, reversed for you) or by full in-addr.arpa / ip6.arpa name. */
  readonly ptr?: readonly { readonly ip?: string; readonly name?: string; readonly target: string }[];
  /** exchange "." is a null MX (RFC 7505: "MX 0 ."). */
  readonly mx?: readonly { readonly domain: string; readonly exchange: string; readonly preference: number }[];
  /** TXT; a string longer than 255 bytes is split into 255-byte character-strings. */
  readonly txt?: readonly { readonly name: string; readonly text: string | readonly string[] }[];
  readonly cname?: readonly { readonly name: string; readonly target: string }[];
  /**
   * DNSBL zones: each listed IP gets `<reversed ip>.<zone>` A (default 127.0.0.2) and optional TXT;
   * an IPv6 address is reversed as 32 nibbles.
   * Everything else under the zone is NXDOMAIN when the zone is under a local suffix.
   */
  readonly dnsbl?: readonly {
    readonly zone: string;
    readonly listed: readonly { readonly ip: string; readonly answer?: string | readonly string[]; readonly txt?: string }[];
  }[];
  /** Suffixes answered NXDOMAIN when unknown (local=/x/). Default: test, 127.in-addr.arpa. */
  readonly localSuffixes?: readonly string[];
  /** TTL of the answers from this zone (local-ttl); dnsmasq's default is 0, so nothing caches them. */
  readonly localTtl?: number;
  /**
   * One zone served authoritatively (auth-zone, auth-server on the loopback interface): its answers
   * carry `ttl` (auth-ttl) and its negative answers carry the zone's SOA in the authority section,
   * with SOA TTL and MINIMUM both `ttl` (RFC 2308 §5 material). Records come from the other fields
   * as usual. The whole instance then serves only this zone (other names: REFUSED), so start a
   * dnsmasq of its own for it.
   */
  readonly authZone?: { readonly zone: string; readonly ttl: number; readonly serial?: number };
}

/** dnsmasq reads at most this many characters of a config line and fails on longer ones. */
const MAX_CONF_LINE = 1024;

export interface DnsmasqOptions {
  readonly port?: number;
  /** A loopback IPv4 address to listen on (default 127.0.0.1); with port 53 it can serve a resolv.conf. */
  readonly address?: string;
  /** Log every query to the process output (to prove nothing is forwarded). */
  readonly logQueries?: boolean;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface DnsmasqHandle {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT", as for Resolver.setServers. */
  readonly server: string;
  readonly confPath: string;
  readonly process: ManagedProcess;
  /** A Resolver that asks only this server (timeout 1 s, 1 try). */
  resolver(): dns.Resolver;
  stop(): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9_*]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/;

function checkName(n: string): string {
  if (!NAME_RE.test(n) || n.includes('..')) throw new Error(`dnsmasq zone: bad DNS name ${JSON.stringify(n)}`);
  return n.replace(/\.$/, '');
}

function checkIp(ip: string): string {
  if (isIP(ip) === 0) throw new Error(`dnsmasq zone: bad IP address ${JSON.stringify(ip)}`);
  return ip;
}

/** "127.0.0.10" -> "10.0.0.127" (the DNSBL / in-addr.arpa order). IPv4 only. */
export function reverseIpv4(ip: string): string {
  if (isIP(ip) !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split('.').reverse().join('.');
}

/**
 * The DNSBL / reverse-zone order of any address: IPv4 octets reversed, IPv6 as 32 reversed
 * nibbles (RFC 3596 §2.5, RFC 5782 §2.4), written out here independently of the resolver's code.
 */
export function reverseIp(ip: string): string {
  if (isIP(ip) === 4) return reverseIpv4(ip);
  if (isIP(ip) !== 6 || ip.includes('.')) throw new Error(`not an IPv4 or plain IPv6 address: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.map((g) => g.padStart(4, '0')).join('').toLowerCase().split('').reverse().join('.');
}

/** The reverse-zone owner of an address: in-addr.arpa or ip6.arpa. */
function reverseOwner(ip: string): string {
  return `${reverseIp(ip)}.${isIP(ip) === 4 ? 'in-addr' : 'ip6'}.arpa`;
}

/** Splits text into DNS character-strings of at most 255 bytes (UTF-8), never inside a character. */
export function splitTxt(text: string, max = 255): string[] {
  const out: string[] = [];
  let cur = '';
  let curBytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (curBytes + b > max) {
      out.push(cur);
      cur = '';
      curBytes = 0;
    }
    cur += ch;
    curBytes += b;
  }
  if (cur !== '' || out.length === 0) out.push(cur);
  return out;
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2 ** 31 - 1) throw new Error(`dnsmasq zone: bad TTL ${ttl}`);
  return ttl;
}

function quoteTxt(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error(`dnsmasq zone: TXT string with a line break or NUL: ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Renders the dnsmasq configuration for a zone (exported for tests and debugging). */
export function renderDnsmasqConf(zone: DnsZone): string {
  const lines = [
    '# generated by test/harness/dnsmasq.ts: answer only from this file, never forward',
    'no-resolv',
    'no-hosts',
    'no-poll',
  ];
  for (const s of zone.localSuffixes ?? ['test', '127.in-addr.arpa']) lines.push(`local=/${checkName(s)}/`);
  if (zone.localTtl !== undefined) lines.push(`local-ttl=${checkTtl(zone.localTtl)}`);
  if (zone.authZone !== undefined) {
    const z = checkName(zone.authZone.zone);
    lines.push(`auth-server=ns.${z},lo`, `auth-zone=${z}`, `auth-soa=${zone.authZone.serial ?? 1},hostmaster.${z}`, `auth-ttl=${checkTtl(zone.authZone.ttl)}`);
  }
  for (const h of zone.hosts ?? []) {
    if (h.addresses.length === 0) throw new Error(`dnsmasq zone: host ${h.name} has no address`);
    lines.push(`host-record=${[checkName(h.name), ...h.addresses.map(checkIp)].join(',')}`);
  }
  for (const a of zone.addresses ?? []) lines.push(`address=/${checkName(a.name)}/${checkIp(a.address)}`);
  for (const p of zone.ptr ?? []) {
    const owner = p.name !== undefined ? checkName(p.name) : p.ip !== undefined ? reverseOwner(p.ip) : '';
    if (owner === '') throw new Error('dnsmasq zone: PTR needs ip or name');
    lines.push(`ptr-record=${owner},${checkName(p.target)}`);
  }
  for (const m of zone.mx ?? []) {
    if (!Number.isInteger(m.preference) || m.preference < 0 || m.preference > 65535) {
      throw new Error(`dnsmasq zone: bad MX preference ${m.preference}`);
    }
    lines.push(`mx-host=${checkName(m.domain)},${m.exchange === '.' ? '.' : checkName(m.exchange)},${m.preference}`);
  }
  for (const t of zone.txt ?? []) {
    const chunks = typeof t.text === 'string' ? splitTxt(t.text) : t.text.flatMap((s) => splitTxt(s));
    lines.push(`txt-record=${checkName(t.name)},${chunks.map(quoteTxt).join(',')}`);
  }
  for (const c of zone.cname ?? []) lines.push(`cname=${checkName(c.name)},${checkName(c.target)}`);
  for (const bl of zone.dnsbl ?? []) {
    const z = checkName(bl.zone);
    for (const l of bl.listed) {
      const owner = `${reverseIp(l.ip)}.${z}`;
      for (const a of typeof l.answer === 'string' ? [l.answer] : (l.answer ?? ['127.0.0.2'])) lines.push(`address=/${owner}/${checkIp(a)}`);
      if (l.txt !== undefined) lines.push(`txt-record=${owner},${splitTxt(l.txt).map(quoteTxt).join(',')}`);
    }
  }
  const long = lines.find((l) => l.length > MAX_CONF_LINE);
  if (long !== undefined) {
    throw new Error(`dnsmasq zone: a config line of ${long.length} characters (max ${MAX_CONF_LINE}); split the TXT into several records of the same name`);
  }
  return `${lines.join('\n')}\n`;
}

function isNotReady(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // NXDOMAIN / NODATA / REFUSED are answers: the server is up.
  return !(code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED');
}

/** Starts dnsmasq on 127.0.0.1 (or opts.address) with the given zone; resolves once it answers a real query. */
export async function startDnsmasq(zone: DnsZone, opts: DnsmasqOptions = {}): Promise<DnsmasqHandle> {
  const dir = opts.dir ?? (await makeScratchDir('moat-dns-'));
  const confPath = join(dir, 'zone.conf');
  await writeFile(confPath, renderDnsmasqConf(zone));
  const asRoot = process.getuid?.() === 0;
  const host = opts.address ?? '127.0.0.1';
  if (isIP(host) !== 4 || !host.startsWith('127.')) throw new Error(`dnsmasq: ${host} is not a loopback IPv4 address`);

  return startWithPortRetry(
    async (port) => {
      const args = [
        '--keep-in-foreground',
        `--conf-file=${confPath}`,
        `--port=${port}`,
        `--listen-address=${host}`,
        '--bind-interfaces',
        '--pid-file=',
        '--log-facility=-',
        ...(asRoot ? ['--user=root', '--group=root'] : []),
        ...(opts.logQueries === true ? ['--log-queries'] : []),
      ];
      const proc = startProcess('/usr/sbin/dnsmasq', args, {
        name: `dnsmasq:${port}`,
        logFile: join(dir, 'dnsmasq.log'),
        ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
      });
      const server = `${host}:${port}`;
      const resolver = (): dns.Resolver => {
        const r = new dns.Resolver({ timeout: 1000, tries: 1 });
        r.setServers([server]);
        return r;
      };
      const probe = new dns.Resolver({ timeout: 200, tries: 1 });
      probe.setServers([server]);
      try {
        await waitUntil(
          async () => {
            try {
              await probe.resolve4('moat-harness-readiness-probe.test');
              return true;
            } catch (err: unknown) {
              if (isNotReady(err)) throw err;
              return true;
            }
          },
          { timeoutMs: opts.readyTimeoutMs ?? 5000, what: `dnsmasq answering on ${server}`, process: proc },
        );
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return {
        host,
        port,
        server,
        confPath,
        process: proc,
        resolver,
        stop: async () => {
          await proc.stop();
        },
      };
    },
    { port: opts.port },
  );
}
