// Rspamd (Debian 12: 3.4) on loopback with a private config tree over Debian's /etc/rspamd base:
// the normal worker on a free port (controller disabled: count = -1; the proxy too, unless
// `milter` asks for it: then a proxy worker in milter mode on a second free port hands each
// message to the normal worker, as an MTA's smtpd_milters would use it), console
// logging, and every DNS query to the test's dnsmasq (dns.nameserver), never the system resolver;
// fuzzy checks and phishing maps are off (remote services). Its state (DBDIR, RUNDIR) is a scratch
// dir; only the compiled hyperscan databases are kept between runs, in the repo's ignored .cache/
// (MOAT_RSPAMD_HS_CACHE overrides), because compiling them takes 10-60 s and reusing them < 1 s.
// Trusts: /usr/bin/rspamd in the foreground (-f; -i to let workers run as root) to bind only the
// configured socket and to take its workers down on SIGTERM. Readiness is GET /ping → "pong".
// Fails: no pong within the bound (default 150 s, for a cold hyperscan compile on a busy machine)
// rejects with rspamd's output; a taken port is retried with a fresh one; stop() escalates to
// SIGKILL by PID (process.ts).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { freePort, startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { tcpOpen, waitUntil } from './wait.js';

/** The checkout: the nearest directory above this file with a package.json (also when run from dist/). */
function repoRoot(): string {
  for (let d = import.meta.dirname; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json'))) return d;
  return process.cwd();
}

export interface RspamdOptions {
  /** "127.0.0.1:PORT" of the test's dnsmasq: rspamd's only resolver. */
  readonly dnsServer: string;
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
  /** Normal worker processes (default 1). */
  readonly normalWorkers?: number;
  /** Also run the proxy worker in milter mode on a free port (RspamdHandle.milterPort). */
  readonly milter?: boolean;
  /** Extra files of local.d by name, e.g. { "antivirus.conf": "clamav { ... }" } (names: [a-z_]+.conf|inc). */
  readonly localConfig?: Readonly<Record<string, string>>;
}

export interface RspamdHandle {
  readonly port: number;
  /** The proxy worker's milter port, when started with `milter`. */
  readonly milterPort: number | undefined;
  /** "http://127.0.0.1:PORT", as Moat's rspamd.url. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** GET path on 127.0.0.1:port; resolves with the status and body. */
export function httpGet(port: number, path: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

async function writeConfig(etc: string, port: number, milterPort: number | undefined, dnsServer: string, hsCache: string, o: RspamdOptions): Promise<void> {
  const local = join(etc, 'local.d');
  const override = join(etc, 'override.d');
  await mkdir(local, { recursive: true });
  await mkdir(override, { recursive: true });
  await writeFile(join(override, 'worker-normal.inc'), `bind_socket = "127.0.0.1:${port}";\ncount = ${o.normalWorkers ?? 1};\n`);
  await writeFile(join(override, 'worker-controller.inc'), 'count = -1;\n');
  await writeFile(
    join(override, 'worker-proxy.inc'),
    milterPort === undefined
      ? 'count = -1;\n'
      : [
          `bind_socket = "127.0.0.1:${milterPort}";`,
          'milter = yes;',
          'timeout = 120s;',
          'count = 1;',
          'max_retries = 5;',
          'discard_on_reject = false;',
          'quarantine_on_reject = false;',
          'spam_header = "X-Spam";',
          'reject_message = "Spam message rejected";',
          `upstream "local" { default = yes; hosts = "127.0.0.1:${port}"; }`,
          '',
        ].join('\n'),
  );
  for (const [name, text] of Object.entries(o.localConfig ?? {})) {
    if (!/^[a-z_]+\.(conf|inc)$/.test(name)) throw new Error(`rspamd harness: bad local.d file name ${name}`);
    await writeFile(join(local, name), text);
  }
  await writeFile(join(override, 'logging.inc'), 'type = "console";\nlevel = "notice";\n');
  await writeFile(
    join(override, 'options.inc'),
    [
      `dns { nameserver = ["${dnsServer}"]; timeout = 1s; retransmits = 1; }`,
      'disable_monitoring = true;',
      `hs_cache_dir = "${hsCache}/";`,
      '',
    ].join('\n'),
  );
  for (const m of ['fuzzy_check', 'phishing']) await writeFile(join(local, `${m}.conf`), 'enabled = false;\n');
}

export async function startRspamd(o: RspamdOptions): Promise<RspamdHandle> {
  if (!/^127\.\d+\.\d+\.\d+:\d+$/.test(o.dnsServer)) throw new Error(`rspamd harness: dnsServer must be a loopback ip:port, got ${o.dnsServer}`);
  const dir = o.dir ?? (await makeScratchDir('moat-rspamd-'));
  const hsCache = process.env['MOAT_RSPAMD_HS_CACHE'] ?? join(repoRoot(), '.cache', 'rspamd-hs');
  await mkdir(hsCache, { recursive: true });
  const vars = { db: join(dir, 'db'), run: join(dir, 'run'), log: join(dir, 'log') };
  for (const d of Object.values(vars)) await mkdir(d, { recursive: true });
  return startWithPortRetry(
    async (port) => {
      const etc = join(dir, `etc-${port}`);
      const milterPort = o.milter === true ? await freePort() : undefined;
      await writeConfig(etc, port, milterPort, o.dnsServer, hsCache, o);
      const proc = startProcess(
        '/usr/bin/rspamd',
        ['-f', ...(process.getuid?.() === 0 ? ['-i', '-u', 'root', '-g', 'root'] : []), '-c', '/etc/rspamd/rspamd.conf', `--var=LOCAL_CONFDIR=${etc}`, `--var=DBDIR=${vars.db}`, `--var=RUNDIR=${vars.run}`, `--var=LOGDIR=${vars.log}`],
        { name: `rspamd:${port}`, cwd: dir, logFile: join(dir, 'rspamd.out'), ...(o.registry !== undefined ? { registry: o.registry } : {}) },
      );
      try {
        await waitUntil(async () => (await httpGet(port, '/ping', 1000)).body.includes('pong'), {
          timeoutMs: o.readyTimeoutMs ?? 150_000,
          what: `rspamd pong on 127.0.0.1:${port}`,
          process: proc,
          intervalMs: 100,
        });
        if (milterPort !== undefined) await waitUntil(() => tcpOpen(milterPort), { timeoutMs: 30_000, what: `rspamd milter on 127.0.0.1:${milterPort}`, process: proc, intervalMs: 100 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return {
        port,
        milterPort,
        url: `http://127.0.0.1:${port}`,
        process: proc,
        stop: async () => {
          await proc.stop();
        },
      };
    },
    { port: o.port },
  );
}
