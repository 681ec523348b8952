// A scriptable LAN server (lan_smtpd.py on aiosmtpd), run by /usr/bin/python3 (Debian's; the
// python3 on PATH may be a pyenv build without aiosmtpd).
// Behaviour (see lan_smtpd.py): advertises XEXCH50 and X-LINK2STATE; RCPT "reject*" -> 550 5.1.1,
// "defer*" -> 451 4.3.0; DATA with a "datareject*" recipient -> 554, "datadefer*" -> 451; saves
// each accepted message (.eml raw bytes + .json envelope with MAIL/RCPT parameters); logs every
// command line to commands.jsonl; prints READY when listening.
// Trusts: aiosmtpd 1.4.3's parser; the script's READY line means the socket is bound.
// Fails: start rejects with the script's output when READY does not come within the bound;
// down()/up() stop and restart the process on the same port (up() retries while the port is busy).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from './process.js';
import type { ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

const SCRIPT = fileURLToPath(new URL('./lan_smtpd.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface LanSmtpdOptions {
  readonly port?: number;
  /** Loopback address to listen on (default 127.0.0.1): MX hosts of outbound tests share one port on several addresses. */
  readonly host?: string;
  /** Greeting/EHLO host name. Default "lan.test". */
  readonly hostname?: string;
  /** Advertise DSN and accept RET/ENVID (MAIL) and NOTIFY/ORCPT (RCPT). Default false. */
  readonly dsn?: boolean;
  /** Offer STARTTLS with this certificate. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string; readonly require?: boolean };
  /** Reply to every DATA with this instead of 250, e.g. "451 4.3.0 Busy". */
  readonly dataReply?: string;
  /** Seconds to wait before answering DATA. */
  readonly dataDelaySec?: number;
  /** SIZE limit advertised and enforced. */
  readonly sizeLimit?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface LanRecipient {
  readonly address: string;
  /** RCPT parameters; DSN ones (NOTIFY, ORCPT) keep their case, others are upper-cased by aiosmtpd. */
  readonly params: readonly string[];
}

export interface LanMessage {
  readonly id: string;
  readonly conn: number;
  readonly helo: string | null;
  readonly tls: boolean;
  readonly mailFrom: string;
  readonly mailParams: readonly string[];
  readonly recipients: readonly LanRecipient[];
  /** The message bytes exactly as received (CRLF, dot-unstuffed). */
  readonly raw: Buffer;
}

export interface LanCommand {
  /** Connection number inside this server process (restarts count from 1 again). */
  readonly conn: number;
  readonly verb: string;
  readonly arg: string | null;
}

export interface LanSmtpdHandle {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** The current process (changes on up()). */
  readonly process: ManagedProcess;
  readonly isUp: boolean;
  /** Accepted messages, oldest first. */
  messages(): Promise<LanMessage[]>;
  waitForMessages(n: number, timeoutMs?: number): Promise<LanMessage[]>;
  /** Every command line received (all connections, all restarts), in order. */
  commands(): Promise<LanCommand[]>;
  /** The distinct verbs received, e.g. ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]. */
  verbs(): Promise<string[]>;
  /** Stops the server (connections are refused until up()). */
  down(): Promise<void>;
  /** Starts it again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

function scriptArgs(o: LanSmtpdOptions, port: number, dir: string): string[] {
  const a = [SCRIPT, o.host ?? '127.0.0.1', String(port), dir, '--hostname', o.hostname ?? 'lan.test'];
  if (o.dsn === true) a.push('--dsn');
  if (o.tls !== undefined) {
    a.push('--tls-cert', o.tls.certPath, '--tls-key', o.tls.keyPath);
    if (o.tls.require === true) a.push('--require-tls');
  }
  if (o.dataReply !== undefined) a.push('--data-reply', o.dataReply);
  if (o.dataDelaySec !== undefined) a.push('--data-delay', String(o.dataDelaySec));
  if (o.sizeLimit !== undefined) a.push('--size', String(o.sizeLimit));
  return a;
}

async function launch(o: LanSmtpdOptions, port: number, dir: string): Promise<ManagedProcess> {
  const proc = startProcess(PYTHON, scriptArgs(o, port, dir), {
    name: `lan-smtpd:${port}`,
    // the script sets its own parent-death signal; the wrapper would add nothing
    dieWithParent: false,
    env: { PYTHONUNBUFFERED: '1' },
    ...(o.registry !== undefined ? { registry: o.registry } : {}),
  });
  try {
    await proc.waitForLine(/^READY /, o.readyTimeoutMs ?? 10_000, 'stdout');
  } catch (err: unknown) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** Reads the messages lan_smtpd.py saved in `dir`, oldest first. */
export async function readLanMessages(dir: string): Promise<LanMessage[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const out: LanMessage[] = [];
  for (const n of names) {
    const meta = JSON.parse(await readFile(join(dir, n), 'utf8')) as Omit<LanMessage, 'raw'>;
    const raw = await readFile(join(dir, `${meta.id}.eml`));
    out.push({ ...meta, raw });
  }
  return out;
}

/** Reads commands.jsonl in `dir`. */
export async function readLanCommands(dir: string): Promise<LanCommand[]> {
  const text = await readFile(join(dir, 'commands.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LanCommand);
}

/** Starts the scriptable LAN server on 127.0.0.1; resolves after its READY line. */
export async function startLanSmtpd(opts: LanSmtpdOptions = {}): Promise<LanSmtpdHandle> {
  const dir = opts.dir ?? (await makeScratchDir('moat-lan-'));
  let current = await startWithPortRetry(async (port) => ({ port, proc: await launch(opts, port, dir) }), {
    port: opts.port,
  });
  const port = current.port;
  let up = true;
  const messages = (): Promise<LanMessage[]> => readLanMessages(dir);
  const commands = (): Promise<LanCommand[]> => readLanCommands(dir);
  return {
    host: opts.host ?? '127.0.0.1',
    port,
    dir,
    get process() {
      return current.proc;
    },
    get isUp() {
      return up;
    },
    messages,
    waitForMessages: (n, timeoutMs = 10_000) =>
      waitUntil(
        async () => {
          const m = await messages();
          return m.length >= n ? m : undefined;
        },
        { timeoutMs, what: `${n} message(s) at the LAN server on port ${port}` },
      ),
    commands,
    verbs: async () => [...new Set((await commands()).map((c) => c.verb))],
    down: async () => {
      up = false;
      await current.proc.stop();
    },
    up: async () => {
      if (up && current.proc.running) return;
      // the old socket may linger for a moment: retry the bind on the same port, bounded
      const proc = await waitUntil(() => launch(opts, port, dir), {
        timeoutMs: 10_000,
        what: `the LAN server to listen again on port ${port}`,
      });
      current = { port, proc };
      up = true;
    },
    stop: async () => {
      up = false;
      await current.proc.stop();
    },
  };
}
