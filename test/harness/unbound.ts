// A validating unbound on loopback with DNSSEC-signed test zones, for DANE (RFC 7672) tests.
// Recipe (Debian 12: unbound 1.17, bind9-utils 9.18): each zone is signed at start with
// dnssec-keygen (ECDSAP256SHA256 KSK + ZSK) and dnssec-signzone -S, served by this same unbound
// from an auth-zone (for-upstream: yes, for-downstream: no) and validated against a trust anchor
// for the zone itself (the KSK's DNSKEY): answers from it carry AD, a name without TLSA gets a
// signed (AD) NXDOMAIN. A zone with `trustAnchor: 'wrong'` is anchored to a key that did not sign
// it: every answer from it is bogus (SERVFAIL). Every other name under "test." goes to the given
// dnsmasq (stub-zone, so unsigned: no AD); any other name is REFUSED (local-zone "." refuse), so
// nothing ever leaves loopback. unbound's built-in "test." local zone (RFC 6761) is switched off.
// Trusts: unbound to validate; /usr/sbin/unbound, /usr/bin/dnssec-keygen, dnssec-signzone.
// Fails: signing errors reject with the tool's output; startup rejects when no DNS answer comes
// within the bound (with unbound's output).
import { promises as dns } from 'node:dns';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked, startProcess, type ManagedProcess } from './process.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

export interface SignedZoneSpec {
  /** e.g. "dane.test" (must be under "test."). */
  readonly zone: string;
  /** Zone-file lines after the SOA and NS (owner names relative to the zone or absolute with a dot). */
  readonly records: readonly string[];
  /** 'own' (default): validates. 'wrong': anchored to another key, so every answer is bogus. */
  readonly trustAnchor?: 'own' | 'wrong';
}

export interface UnboundOptions {
  readonly zones: readonly SignedZoneSpec[];
  /** "127.0.0.1:PORT" of a dnsmasq answering the rest of "test." (unsigned). */
  readonly unsignedServer: string;
  /** Loopback IPv4 address to listen on; default 127.0.0.1. */
  readonly address?: string;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
}

export interface UnboundHandle {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT" for dns.servers. */
  readonly server: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

const ZONE_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.test$/;

async function keygen(dir: string, zone: string, ksk: boolean): Promise<string> {
  const r = await runChecked('/usr/bin/dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', ...(ksk ? ['-f', 'KSK'] : []), '-n', 'ZONE', zone], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

/** Signs one zone in its own directory; returns the signed file and the trust anchor (DNSKEY line). */
async function signZone(base: string, spec: SignedZoneSpec): Promise<{ signed: string; anchor: string }> {
  if (!ZONE_RE.test(spec.zone)) throw new Error(`unbound: zone ${JSON.stringify(spec.zone)} must be a lower-case name under .test`);
  const dir = join(base, spec.zone);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'zone');
  const z = `${spec.zone}.`;
  await writeFile(file, [`$TTL 300`, `$ORIGIN ${z}`, `@ IN SOA ns.${z} hostmaster.${z} 1 3600 600 86400 300`, `@ IN NS ns.${z}`, `ns IN A 127.0.0.1`, ...spec.records, ''].join('\n'));
  const ksk = await keygen(dir, spec.zone, true);
  await keygen(dir, spec.zone, false);
  const signed = join(dir, 'zone.signed');
  await runChecked('/usr/bin/dnssec-signzone', ['-S', '-K', dir, '-o', spec.zone, '-f', signed, '-N', 'keep', file], { cwd: dir, timeoutMs: 30_000 });
  let anchorKey = ksk;
  if (spec.trustAnchor === 'wrong') {
    const other = join(dir, 'other');
    await mkdir(other);
    anchorKey = join('other', await keygen(other, spec.zone, true));
  }
  const keyText = await readFile(join(dir, `${anchorKey}.key`), 'utf8');
  const anchor = keyText.split('\n').find((l) => /\bDNSKEY\s+257\b/.test(l));
  if (anchor === undefined) throw new Error(`unbound: no KSK DNSKEY in ${anchorKey}.key`);
  return { signed, anchor: anchor.trim() };
}

/** Starts unbound; resolves once it answers a query for the first zone's SOA. */
export async function startUnbound(opts: UnboundOptions): Promise<UnboundHandle> {
  const dir = opts.dir ?? (await makeScratchDir('moat-unbound-'));
  const host = opts.address ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`unbound: ${host} is not a loopback IPv4 address`);
  const stub = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(opts.unsignedServer);
  if (stub === null) throw new Error(`unbound: unsignedServer ${opts.unsignedServer} is not "127.x.y.z:port"`);
  const zones: { spec: SignedZoneSpec; signed: string; anchor: string }[] = [];
  for (const spec of opts.zones) zones.push({ spec, ...(await signZone(dir, spec)) });
  const anchors = join(dir, 'anchors.key');
  await writeFile(anchors, `${zones.map((z) => z.anchor).join('\n')}\n`);
  return startWithPortRetry(async (port) => {
    const conf = join(dir, 'unbound.conf');
    await writeFile(
      conf,
      [
        'server:',
        `  interface: ${host}@${port}`,
        '  do-daemonize: no',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        '  pidfile: ""',
        '  use-syslog: no',
        '  logfile: ""',
        '  verbosity: 1',
        '  val-log-level: 2',
        '  do-not-query-localhost: no',
        '  module-config: "validator iterator"',
        `  trust-anchor-file: "${anchors}"`,
        '  access-control: 127.0.0.0/8 allow',
        '  local-zone: "test." nodefault',
        '  local-zone: "." refuse',
        '  local-zone: "test." transparent',
        // Answers the tests change between runs must not linger: no prefetch, short cache.
        '  cache-max-ttl: 5',
        '  cache-max-negative-ttl: 5',
        ...zones.flatMap((z) => ['auth-zone:', `  name: "${z.spec.zone}"`, `  zonefile: "${z.signed}"`, '  for-downstream: no', '  for-upstream: yes', '  fallback-enabled: no']),
        'stub-zone:',
        '  name: "test."',
        `  stub-addr: ${stub[1]}@${stub[2]}`,
        'remote-control:',
        '  control-enable: no',
        '',
      ].join('\n'),
    );
    const proc = startProcess('/usr/sbin/unbound', ['-d', '-c', conf], { name: `unbound:${port}`, logFile: join(dir, 'unbound.log') });
    const server = `${host}:${port}`;
    const probe = new dns.Resolver({ timeout: 500, tries: 1 });
    probe.setServers([server]);
    const first = opts.zones[0]?.zone ?? 'test';
    try {
      await waitUntil(
        async () => {
          try {
            await probe.resolveSoa(first);
            return true;
          } catch (err: unknown) {
            const code = (err as { code?: unknown }).code;
            // A bogus zone answers SERVFAIL: that is an answer too.
            return code === 'ESERVFAIL' || code === 'ENOTFOUND' || code === 'ENODATA';
          }
        },
        { timeoutMs: opts.readyTimeoutMs ?? 10_000, what: `unbound answering on ${server}`, process: proc },
      );
    } catch (err: unknown) {
      await proc.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${proc.tail()}`, { cause: err });
    }
    return { host, port, server, process: proc, stop: async () => {
        await proc.stop();
      } };
  });
}

