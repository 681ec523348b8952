// A private Postfix instance on a loopback port, in two flavours:
//  - "lan":   the LAN mail server, delivering to Maildirs under its scratch dir (peers.md 4c);
//  - "relay": a relay-only gateway for benchmarks: accepts mail for one domain and relays it to
//             smtp:[127.0.0.1]:NEXTHOP, using the default on-disk queue.
// Trusts: Postfix 3.7 from Debian; it must be started by root (`postfix -c DIR start-fg`, the
// master runs as a child of postfix-script). Its own master.cf is a copy of Debian's with the
// smtp inet service moved to 127.0.0.1:PORT and chroot off.
// Network: no lookup may leave loopback. DNS is off (smtp_dns_support_level = disabled), no
// peer-name lookups, the next hop is a bracketed IP, and default_transport/relay_transport are
// error: so that a bounce or a stray domain never makes Postfix call getaddrinfo, which would ask
// the system resolver (seen in peers.md 4c).
// Fails: start rejects (with the log) when not root, or when no 220 banner comes in time; stop()
// runs `postfix -c DIR stop`, waits a bounded time, then SIGKILLs by PID. If the test process
// exits without stopping it, the registry SIGTERMs the master by the PID in its pid file.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, startProcess } from './process.js';
import { defaultRegistry, forgetOnDeath, killOnDeath } from './registry.js';
import type { ManagedProcess } from './process.js';
import type { ProcessRegistry, Stoppable } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeDirOwnedBy, makeScratchDir } from './tmp.js';
import { waitForSmtpBanner, waitUntil } from './wait.js';

const POSTFIX = '/usr/sbin/postfix';

interface CommonOptions {
  readonly port?: number;
  /** myhostname (banner, HELO). */
  readonly hostname?: string;
  /** Extra main.cf lines, applied last (override anything above). */
  readonly extraMain?: Readonly<Record<string, string>>;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface PostfixLanOptions extends CommonOptions {
  /** Mail domain served; default "lan.test". */
  readonly domain?: string;
  /** Local parts that have a Maildir, e.g. ["bob", "carol"]. Others get 550 5.1.1. */
  readonly mailboxes: readonly string[];
}

export interface PostfixRelayOptions extends CommonOptions {
  /** The only domain relayed (relay_domains); others get 554 5.7.1 Relay access denied. */
  readonly relayDomain: string;
  /** Where mail for relayDomain goes: smtp:[host]:port. */
  readonly nexthop: { readonly host?: string; readonly port: number };
  /** default_process_limit; default 200 (enough for 100 concurrent inbound sessions). */
  readonly processLimit?: number;
  /** Parallel deliveries to the next hop (smtp_destination_concurrency_limit); default 50. */
  readonly destinationConcurrency?: number;
}

export interface PostfixHandle {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  readonly configDir: string;
  readonly queueDir: string;
  /** The `postfix start-fg` process. */
  readonly process: ManagedProcess;
  /** The mail log file (maillog_file). */
  readonly logPath: string;
  /** Mail log lines so far. */
  log(): string[];
  /** `postfix -c DIR reload` after editing main.cf. */
  reload(): Promise<void>;
  /** Number of messages in the queue (postqueue -j). */
  queueSize(): Promise<number>;
  stop(): Promise<void>;
}

export interface PostfixLanHandle extends PostfixHandle {
  readonly mailDir: string;
  /** Paths of delivered messages in a mailbox's Maildir (new/ and cur/), oldest name first. */
  maildir(localPart: string): Promise<string[]>;
  /** Waits until a mailbox holds at least `n` messages; resolves with their contents. */
  waitForMaildir(localPart: string, n: number, timeoutMs?: number): Promise<string[]>;
}

const LOCAL_PART_RE = /^[A-Za-z0-9._+-]+$/;
const DOMAIN_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function checkDomain(d: string): string {
  if (!DOMAIN_RE.test(d)) throw new Error(`postfix: bad domain ${JSON.stringify(d)}`);
  return d;
}

/** Debian's master.cf with the public smtp service on 127.0.0.1:port and every chroot off. */
export function renderMasterCf(original: string, port: number): string {
  let found = false;
  const lines = original.split('\n').map((line) => {
    if (line === '' || /^[#\s]/.test(line)) return line;
    const f = line.split(/\s+/);
    if (f[0] === 'smtp' && f[1] === 'inet') {
      found = true;
      return `127.0.0.1:${port} inet n - n - - smtpd`;
    }
    // service type private unpriv chroot wakeup maxproc command...: Debian chroots into the
    // queue dir, which has no copies of /etc files in a scratch instance
    if (f.length >= 8) f[4] = 'n';
    return f.join(' ');
  });
  if (!found) throw new Error('postfix: master.cf has no "smtp inet" service line');
  return lines.join('\n');
}

function renderMainCf(settings: Readonly<Record<string, string>>): string {
  return `${Object.entries(settings)
    .map(([k, v]) => {
      if (!/^[a-z0-9_]+$/.test(k) || /[\r\n]/.test(v)) throw new Error(`postfix: bad main.cf setting ${k}`);
      return `${k} = ${v}`;
    })
    .join('\n')}\n`;
}

function baseSettings(dir: string, hostname: string): Record<string, string> {
  return {
    compatibility_level: '3.6',
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: hostname,
    mydomain: hostname,
    myorigin: hostname,
    mydestination: '',
    local_recipient_maps: '',
    alias_maps: '',
    alias_database: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    biff: 'no',
    // XXX: not /dev/stdout: Node's stdio pipes are socketpairs, and open("/dev/stdout") on a
    // socket fails (ENXIO), which makes postlog, and with it `postfix start-fg`, exit 1 silently.
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    // never deliver anywhere but where this instance is told to (no DNS, no outbound SMTP)
    smtpd_relay_restrictions: 'reject_unauth_destination',
    default_transport: 'error:5.7.1 outbound delivery disabled in tests',
    relay_transport: 'error:5.7.1 outbound delivery disabled in tests',
  };
}

interface Instance {
  readonly port: number;
  readonly proc: ManagedProcess;
}

async function prepare(dir: string, port: number, main: Readonly<Record<string, string>>): Promise<string> {
  const etc = join(dir, 'etc');
  await mkdir(etc, { recursive: true, mode: 0o755 });
  await mkdir(join(dir, 'spool'), { recursive: true, mode: 0o755 });
  // else: fatal: open lock file .../master.lock: Permission denied
  await makeDirOwnedBy(join(dir, 'data'), 'postfix');
  const masterSrc = existsSync('/etc/postfix/master.cf') ? '/etc/postfix/master.cf' : '/usr/share/postfix/master.cf.dist';
  await writeFile(join(etc, 'master.cf'), renderMasterCf(await readFile(masterSrc, 'utf8'), port));
  for (const src of ['/etc/postfix/dynamicmaps.cf', '/usr/share/postfix/dynamicmaps.cf']) {
    if (existsSync(src)) {
      await copyFile(src, join(etc, 'dynamicmaps.cf'));
      break;
    }
  }
  await writeFile(join(etc, 'main.cf'), renderMainCf(main));
  return etc;
}

async function launch(
  dir: string,
  port: number,
  main: Readonly<Record<string, string>>,
  opts: CommonOptions,
): Promise<Instance> {
  const etc = await prepare(dir, port, main);
  const proc = startProcess(POSTFIX, ['-c', etc, 'start-fg'], {
    name: `postfix:${port}`,
    logFile: join(dir, 'postfix.log'),
    ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
  });
  try {
    await waitForSmtpBanner(port, { timeoutMs: opts.readyTimeoutMs ?? 15_000, process: proc });
  } catch (err: unknown) {
    await stopInstance(etc, join(dir, 'spool'), proc);
    const log = readLog(dir).slice(-30).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nmaillog:\n${log}`, { cause: err });
  }
  return { port, proc };
}

function readLog(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'maillog'), 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

function masterPid(queueDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopInstance(etc: string, queueDir: string, proc: ManagedProcess): Promise<void> {
  if (!proc.running) return;
  const pid = masterPid(queueDir);
  await runCommand(POSTFIX, ['-c', etc, 'stop'], { timeoutMs: 15_000 }).catch(() => undefined);
  if ((await proc.waitExit(10_000)) !== undefined) return;
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await proc.stop({ graceMs: 2000 });
}

async function start(
  kind: string,
  opts: CommonOptions,
  settings: (dir: string, port: number) => Record<string, string>,
  beforeStart: (dir: string) => Promise<void>,
): Promise<{ handle: PostfixHandle; dir: string }> {
  if (process.getuid?.() !== 0) throw new Error(`postfix (${kind}): the Postfix master must be started by root`);
  const dir = opts.dir ?? (await makeScratchDir(`moat-postfix-${kind}-`));
  await beforeStart(dir);
  const inst = await startWithPortRetry((port) => launch(dir, port, { ...settings(dir, port), ...opts.extraMain }, opts), {
    port: opts.port,
  });
  const etc = join(dir, 'etc');
  const queueDir = join(dir, 'spool');
  const registry = opts.registry ?? defaultRegistry();
  // The master is a child of postfix-script, not of ours: stop it through postfix, and on
  // process exit SIGTERM it by the PID it wrote.
  const guard: Stoppable = {
    name: `postfix master ${kind}:${inst.port}`,
    stop: () => stopInstance(etc, queueDir, inst.proc),
    killNow: () => {
      const pid = masterPid(queueDir);
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      inst.proc.killNow();
    },
  };
  registry.add(guard);
  const master = masterPid(queueDir);
  if (master !== undefined) killOnDeath(master);
  const handle: PostfixHandle = {
    host: '127.0.0.1',
    port: inst.port,
    dir,
    configDir: etc,
    queueDir,
    process: inst.proc,
    logPath: join(dir, 'maillog'),
    log: () => readLog(dir),
    reload: async () => {
      const r = await runCommand(POSTFIX, ['-c', etc, 'reload'], { timeoutMs: 15_000 });
      if (r.code !== 0) throw new Error(`postfix reload failed:\n${r.stdout}${r.stderr}`);
    },
    queueSize: async () => {
      const r = await runCommand('/usr/sbin/postqueue', ['-c', etc, '-j'], { timeoutMs: 15_000 });
      if (r.code !== 0) throw new Error(`postqueue -j failed:\n${r.stdout}${r.stderr}`);
      return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
    },
    stop: async () => {
      await stopInstance(etc, queueDir, inst.proc);
      registry.delete(guard);
      if (master !== undefined) forgetOnDeath(master);
    },
  };
  return { handle, dir };
}

/** Starts a Postfix LAN server that delivers mail for `domain` to Maildirs. Needs root. */
export async function startPostfixLan(opts: PostfixLanOptions): Promise<PostfixLanHandle> {
  const domain = checkDomain(opts.domain ?? 'lan.test');
  for (const m of opts.mailboxes) {
    if (!LOCAL_PART_RE.test(m)) throw new Error(`postfix: bad mailbox local part ${JSON.stringify(m)}`);
  }
  const { handle, dir } = await start(
    'lan',
    opts,
    (d) => ({
      ...baseSettings(d, opts.hostname ?? domain),
      relay_domains: '',
      virtual_mailbox_domains: domain,
      virtual_mailbox_base: join(d, 'mail'),
      virtual_mailbox_maps: `texthash:${join(d, 'etc', 'vmailbox')}`,
      virtual_uid_maps: 'static:65534',
      virtual_gid_maps: 'static:65534',
      smtpd_banner: '$myhostname ESMTP LAN-Postfix',
    }),
    async (d) => {
      await makeDirOwnedBy(join(d, 'mail'), 'nobody');
      await mkdir(join(d, 'etc'), { recursive: true, mode: 0o755 });
      // trailing "/" = Maildir
      await writeFile(join(d, 'etc', 'vmailbox'), opts.mailboxes.map((m) => `${m}@${domain} ${m}/\n`).join(''));
    },
  );
  const mailDir = join(dir, 'mail');
  const maildir = async (localPart: string): Promise<string[]> => {
    const out: string[] = [];
    for (const sub of ['new', 'cur']) {
      const d = join(mailDir, localPart, sub);
      const names = await readdir(d).catch(() => [] as string[]);
      out.push(...names.sort().map((n) => join(d, n)));
    }
    return out;
  };
  return {
    ...handle,
    mailDir,
    maildir,
    waitForMaildir: async (localPart, n, timeoutMs = 15_000) => {
      const files = await waitUntil(
        async () => {
          const f = await maildir(localPart);
          return f.length >= n ? f : undefined;
        },
        { timeoutMs, what: `${n} message(s) in Maildir ${localPart}`, process: handle.process },
      );
      return Promise.all(files.map((f) => readFile(f, 'utf8')));
    },
  };
}

/** Starts a relay-only Postfix gateway: mail for relayDomain goes to smtp:[nexthop]. Needs root. */
export async function startPostfixRelay(opts: PostfixRelayOptions): Promise<PostfixHandle> {
  const domain = checkDomain(opts.relayDomain);
  const nextHost = opts.nexthop.host ?? '127.0.0.1';
  if (!/^[0-9.]+$/.test(nextHost)) throw new Error(`postfix relay: next hop must be an IPv4 address, got ${nextHost}`);
  const { handle } = await start(
    'relay',
    opts,
    (d) => ({
      ...baseSettings(d, opts.hostname ?? 'gw.test'),
      relay_domains: domain,
      // any recipient in the relay domain is accepted (the next hop decides)
      relay_recipient_maps: '',
      transport_maps: `inline:{${domain}=smtp:[${nextHost}]:${opts.nexthop.port}}`,
      smtpd_recipient_restrictions: '',
      smtpd_banner: '$myhostname ESMTP Postfix-relay',
      default_process_limit: String(opts.processLimit ?? 200),
      smtpd_client_connection_count_limit: '0',
      smtpd_client_connection_rate_limit: '0',
      smtpd_client_event_limit_exceptions: '127.0.0.0/8',
      smtp_destination_concurrency_limit: String(opts.destinationConcurrency ?? 50),
      smtp_tls_security_level: 'none',
    }),
    () => Promise.resolve(),
  );
  return handle;
}
