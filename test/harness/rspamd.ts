// Rspamd (Debian 12: 3.4) on loopback with a private config tree over Debian's /etc/rspamd base:
// the normal worker on a free port (the controller disabled: count = -1, unless `controller` asks
// for it on a second free port, e.g. to learn Bayes through /learnspam; the proxy too, unless
// `milter` asks for it: then a proxy worker in milter mode on a free port hands each
// message to the normal worker, as an MTA's smtpd_milters would use it), console
// logging, and every DNS query to the test's dnsmasq (dns.nameserver), never the system resolver;
// fuzzy checks and phishing maps are off (remote services). Its state (DBDIR, RUNDIR) is a scratch
// dir; only the compiled hyperscan databases are kept between runs, in the repo's ignored .cache/
// (MOAT_RSPAMD_HS_CACHE overrides), because compiling them takes 10-60 s and reusing them < 1 s.
// Trusts: /usr/bin/rspamd in the foreground (-f; -i to let workers run as root) to bind only the
// configured socket and to take its workers down on SIGTERM. Readiness is GET /ping → "pong".
// Its HTTP answers are read off the socket (rspamdHttp), not by node:http: the controller answers
// a learn it skips ("contains less tokens than required") with status 204 AND a JSON body, which
// RFC 9110 §15.3.5 forbids and Node's parser rejects ("Data after `Connection: close`").
// Fails: no pong within the bound (default 150 s, for a cold hyperscan compile on a busy machine)
// rejects with rspamd's output; a taken port is retried with a fresh one; stop() escalates to
// SIGKILL by PID (process.ts).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
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
  /** Also run the controller on a free port (RspamdHandle.controllerPort), open to 127.0.0.1 without a password. */
  readonly controller?: boolean;
  /** Extra files of local.d by name, e.g. { "antivirus.conf": "clamav { ... }" } (names: [a-z_-]+.conf|inc). */
  readonly localConfig?: Readonly<Record<string, string>>;
}

export interface RspamdHandle {
  readonly port: number;
  /** The proxy worker's milter port, when started with `milter`. */
  readonly milterPort: number | undefined;
  /** The controller's port, when started with `controller`. */
  readonly controllerPort: number | undefined;
  /** "http://127.0.0.1:PORT", as Moat's rspamd.url. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * One HTTP/1.1 request to rspamd on 127.0.0.1:port: the status and the body, which is what the
 * Content-Length header says, whatever the status (see the header on 204). The socket is not
 * half-closed while waiting (rspamd's normal worker drops a task whose client sent FIN); it is
 * closed once the body is in, or by rspamd (Connection: close).
 */
export function rspamdHttp(port: number, method: 'GET' | 'POST', path: string, body: Buffer = Buffer.alloc(0), timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let answer = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, v?: { status: number; body: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      if (err !== null) reject(err);
      else resolve(v as { status: number; body: string });
    };
    const timer = setTimeout(() => finish(new Error(`rspamd ${method} ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    /** Settles once the answer is complete, or fails when rspamd closed before that. */
    const parse = (closed: boolean): void => {
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) finish(new Error(`rspamd ${method} ${path}: no HTTP answer: ${JSON.stringify(answer.toString('latin1').slice(0, 200))}`));
        return;
      }
      const head = answer.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (status === null) return finish(new Error(`rspamd ${method} ${path}: not HTTP: ${JSON.stringify(head.slice(0, 200))}`));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const rest = answer.subarray(end + 4);
      if (length === null ? !closed : rest.length < Number(length[1])) {
        if (closed) finish(new Error(`rspamd ${method} ${path}: answer cut short`));
        return;
      }
      finish(null, { status: Number(status[1]), body: (length === null ? rest : rest.subarray(0, Number(length[1]))).toString('utf8') });
    };
    s.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      parse(false);
    });
    s.on('error', (e) => finish(e));
    s.on('close', () => parse(true));
    s.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.write(body);
  });
}

/** GET path on 127.0.0.1:port; resolves with the status and body. */
export function httpGet(port: number, path: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return rspamdHttp(port, 'GET', path, undefined, timeoutMs);
}

async function writeConfig(etc: string, port: number, ports: { readonly milter: number | undefined; readonly controller: number | undefined }, dnsServer: string, hsCache: string, o: RspamdOptions): Promise<void> {
  const milterPort = ports.milter;
  const local = join(etc, 'local.d');
  const override = join(etc, 'override.d');
  await mkdir(local, { recursive: true });
  await mkdir(override, { recursive: true });
  await writeFile(join(override, 'worker-normal.inc'), `bind_socket = "127.0.0.1:${port}";\ncount = ${o.normalWorkers ?? 1};\n`);
  await writeFile(
    join(override, 'worker-controller.inc'),
    ports.controller === undefined ? 'count = -1;\n' : `bind_socket = "127.0.0.1:${ports.controller}";\ncount = 1;\nsecure_ip = "127.0.0.1";\n`,
  );
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
    if (!/^[a-z_-]+\.(conf|inc)$/.test(name)) throw new Error(`rspamd harness: bad local.d file name ${name}`);
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
      const controllerPort = o.controller === true ? await freePort() : undefined;
      await writeConfig(etc, port, { milter: milterPort, controller: controllerPort }, o.dnsServer, hsCache, o);
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
        if (controllerPort !== undefined) await waitUntil(async () => (await httpGet(controllerPort, '/ping', 1000)).body.includes('pong'), { timeoutMs: 30_000, what: `rspamd controller pong on 127.0.0.1:${controllerPort}`, process: proc, intervalMs: 100 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return {
        port,
        milterPort,
        controllerPort,
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
