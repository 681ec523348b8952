// SpamAssassin's spamd (Debian 12: 4.0) on loopback with a private site config: only local rules
// (--local: no DNS, no network tests), no auto-learning, no user configs, plugins loaded by our own
// init.pre (the local-only ones; the host's /etc/spamassassin is never read), as nobody, with a
// scratch home dir. The rules are Debian's shipped set (/usr/share/spamassassin), no sa-update.
// Bayes is off unless `bayes: true` (the accuracy benchmark): then the Bayes plugin and a private
// database in DIR/bayes, which sa-learn fills with the same site config (spamdSiteConfig); no
// expiry (bayes_auto_expire 0: a scan would otherwise prune a big database while it is read).
// With `dnsServer` (a loopback dnsmasq) it also verifies DKIM signatures (the DKIM plugin, DNS
// through that server only: dns_server, no --local); RBL checks stay off either way.
// Trusts: /usr/sbin/spamd to stay in the foreground (no --daemonize), bind only the --listen address
// and exit with its children on SIGTERM. Readiness is spamd's own answer to `PING SPAMC/1.5` (PONG):
// its port opens before the rules are loaded, so a TCP connect is not enough.
// Fails: no PONG within the bound rejects with spamd's output (a taken port is retried with a fresh
// one); stop() escalates to SIGKILL by PID (process.ts).
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeDirOwnedBy, makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

/** The GTUBE string: SpamAssassin and Rspamd score it as spam (SA: 1000 points). */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** Plugins that need no network; the rules in /usr/share/spamassassin guard the others with ifplugin. */
const LOCAL_PLUGINS = ['Check', 'HTTPSMismatch', 'URIDetail', 'BodyEval', 'HTMLEval', 'HeaderEval', 'MIMEEval', 'RelayEval', 'URIEval', 'WLBLEval', 'VBounce', 'ImageInfo', 'FreeMail', 'MIMEHeader', 'ReplaceTags'];

export interface SpamdOptions {
  readonly port?: number;
  readonly dir?: string;
  readonly maxChildren?: number;
  /** spamd's --min-children (default 1; the benchmark pre-forks every child). */
  readonly minChildren?: number;
  /** Bayes on, with the database of spamdSiteConfig(dir, { bayes: true }). */
  readonly bayes?: boolean;
  /** spamd's output goes here too. */
  readonly logFile?: string;
  /** "127.0.0.1:PORT" of the test's dnsmasq: enables DNS (for DKIM) through it only. */
  readonly dnsServer?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface SpamdSite {
  /** --siteconfigpath for spamd and sa-learn. */
  readonly site: string;
  readonly home: string;
  /** --dbpath for sa-learn (the directory of the bayes_path files), when Bayes is on. */
  readonly bayesDir: string | null;
}

/** Writes the private site config under `dir` (init.pre, local.cf); the same for spamd and sa-learn. */
export async function spamdSiteConfig(dir: string, o: { readonly bayes?: boolean; readonly dnsServer?: string } = {}): Promise<SpamdSite> {
  const site = join(dir, 'site');
  const home = join(dir, 'home');
  await makeDirOwnedBy(site, 'root');
  await makeDirOwnedBy(home, 'nobody');
  const plugins = [...LOCAL_PLUGINS, ...(o.bayes === true ? ['Bayes'] : []), ...(o.dnsServer !== undefined ? ['DKIM'] : [])];
  await writeFile(join(site, 'init.pre'), plugins.map((p) => `loadplugin Mail::SpamAssassin::Plugin::${p}\n`).join(''));
  const bayesDir = o.bayes === true ? join(dir, 'bayes') : null;
  if (bayesDir !== null) await makeDirOwnedBy(bayesDir, 'nobody');
  const bayes = bayesDir !== null ? ['use_bayes 1', `bayes_path ${join(bayesDir, 'bayes')}`, 'bayes_file_mode 0777', 'lock_method flock', 'bayes_auto_expire 0', 'use_auto_whitelist 0'] : ['use_bayes 0'];
  const dns = o.dnsServer === undefined ? ['dns_available no'] : [`dns_server ${o.dnsServer}`, 'dns_available yes'];
  await writeFile(join(site, 'local.cf'), [...bayes, 'bayes_auto_learn 0', ...dns, 'skip_rbl_checks 1', ''].join('\n'));
  return { site, home, bayesDir };
}

export interface SpamdHandle {
  readonly port: number;
  /** "127.0.0.1:PORT", as Moat's spamassassin.address. */
  readonly address: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** One spamd request (PING, CHECK...: spamc's protocol): the whole answer, read until spamd closes. */
export function spamdRequest(port: number, head: string, body: Buffer = Buffer.alloc(0), timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`spamd: no answer within ${timeoutMs} ms`)));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  });
}

/** Resolves with spamd's first answer line to `PING SPAMC/1.5` ("SPAMD/1.5 0 PONG"). */
export async function spamdPing(port: number, timeoutMs = 1000): Promise<string> {
  return (await spamdRequest(port, 'PING SPAMC/1.5\r\n\r\n', undefined, timeoutMs)).split('\r\n')[0] ?? '';
}

export async function startSpamd(o: SpamdOptions = {}): Promise<SpamdHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-spamd-'));
  if (o.dnsServer !== undefined && !/^127\.\d+\.\d+\.\d+:\d+$/.test(o.dnsServer)) throw new Error(`spamd harness: dnsServer must be a loopback ip:port, got ${o.dnsServer}`);
  const { site, home } = await spamdSiteConfig(dir, { ...(o.bayes === true ? { bayes: true } : {}), ...(o.dnsServer !== undefined ? { dnsServer: o.dnsServer } : {}) });
  return startWithPortRetry(
    async (port) => {
      const proc = startProcess(
        '/usr/sbin/spamd',
        [
          `--listen=127.0.0.1:${port}`,
          ...(o.dnsServer === undefined ? ['--local'] : []),
          '--nouser-config',
          `--max-children=${o.maxChildren ?? 2}`,
          `--min-children=${o.minChildren ?? 1}`,
          ...(o.minChildren !== undefined ? [`--min-spare=${o.minChildren}`] : []),
          '--syslog=stderr',
          `--pidfile=${join(dir, `spamd-${port}.pid`)}`,
          `--helper-home-dir=${home}`,
          `--siteconfigpath=${site}`,
          ...(process.getuid?.() === 0 ? ['--username=nobody'] : []),
        ],
        { name: `spamd:${port}`, cwd: dir, ...(o.logFile !== undefined ? { logFile: o.logFile } : {}), ...(o.registry !== undefined ? { registry: o.registry } : {}) },
      );
      try {
        await waitUntil(async () => (await spamdPing(port, 1000)).includes('PONG'), { timeoutMs: o.readyTimeoutMs ?? 45_000, what: `spamd PONG on 127.0.0.1:${port}`, process: proc, intervalMs: 100 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return {
        port,
        address: `127.0.0.1:${port}`,
        process: proc,
        stop: async () => {
          await proc.stop();
        },
      };
    },
    { port: o.port },
  );
}
