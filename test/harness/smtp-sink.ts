// Postfix's smtp-sink as a dumb LAN server, capturing each transaction to a file.
// Trusts: smtp-sink (Postfix 3.7) to write one capture file per transaction with -d, complete
// before it sends the 250 for "." (observed); its dump format (man smtp-sink: X-Client-Addr,
// X-Client-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args..., a 3-line Received, the message with
// LF line ends, one empty line).
// Fails: a start that does not greet within the bound rejects with smtp-sink's output; a capture
// file that does not parse throws naming the file. As root it runs with -u nobody and its capture
// dir is owned by nobody. It cannot reject selected recipients or add EHLO keywords: use aiosmtpd.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startProcess } from './process.js';
import type { ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeDirOwnedBy, makeScratchDir } from './tmp.js';
import { waitForSmtpBanner, waitUntil } from './wait.js';

export interface SmtpSinkOptions {
  readonly port?: number;
  /** Loopback address to listen on (any of 127.0.0.0/8, or "::1"); default 127.0.0.1. MX hosts of outbound tests share one port on several addresses. */
  readonly host?: string;
  /** Greeting/EHLO host name (-h). Default "lan.test". */
  readonly hostname?: string;
  /** Capture each transaction to a file (-d). Default true. */
  readonly capture?: boolean;
  readonly backlog?: number;
  /** -p: do not announce PIPELINING. */
  readonly noPipelining?: boolean;
  /** -8: do not announce 8BITMIME. */
  readonly no8BitMime?: boolean;
  /** -N: do not announce DSN. */
  readonly noDsn?: boolean;
  /** -E: do not announce ENHANCEDSTATUSCODES. */
  readonly noEnhancedStatusCodes?: boolean;
  /** -a: do not announce AUTH. */
  readonly noAuth?: boolean;
  /** -C / -F: do not announce XCLIENT / XFORWARD. */
  readonly noXclient?: boolean;
  readonly noXforward?: boolean;
  /** -e: no ESMTP at all (EHLO is rejected). */
  readonly noEsmtp?: boolean;
  /** -L: speak LMTP. */
  readonly lmtp?: boolean;
  /** -f: hard-reject (5xx) these commands, e.g. ["RCPT"] or ["."]. Implies -p. */
  readonly hardReject?: readonly string[];
  /** -r: soft-reject (4xx) these commands. Implies -p. */
  readonly softReject?: readonly string[];
  /** -Q: reply 421 and disconnect after these commands. */
  readonly quit421?: readonly string[];
  /** -q: disconnect without a reply after these commands. */
  readonly disconnect?: readonly string[];
  /** -B: text of hard rejects, e.g. "550 5.1.1 No such user". */
  readonly hardReply?: string;
  /** -b: text of soft rejects, e.g. "451 4.3.0 Try later". */
  readonly softReply?: string;
  /** -w: seconds to wait before answering DATA. */
  readonly dataDelaySec?: number;
  /** -W: "command:delay[:odds]" entries. */
  readonly commandDelays?: readonly string[];
  /** -A: seconds after DATA before a 550 abort. */
  readonly abortAfterDataSec?: number;
  /** -t: command/response timeout in seconds. */
  readonly timeoutSec?: number;
  /** -m: maximal simultaneous connections (default 256). */
  readonly maxConnections?: number;
  /** -c: print running counters to stdout. */
  readonly counters?: boolean;
  readonly extraArgs?: readonly string[];
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface SinkRecipient {
  readonly address: string;
  /** RCPT parameters after the address, e.g. ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@lan.test"]. */
  readonly params: readonly string[];
}

export interface SinkMessage {
  readonly file: string;
  readonly clientAddr: string;
  readonly clientProto: string;
  readonly helo: string | undefined;
  readonly mailFrom: string;
  /** MAIL parameters after the address, e.g. ["SIZE=123", "BODY=8BITMIME", "RET=HDRS"]. */
  readonly mailParams: readonly string[];
  readonly recipients: readonly SinkRecipient[];
  /** The message as received, LF line ends (smtp-sink converts CRLF), dot-unstuffed. */
  readonly data: string;
}

export interface SmtpSinkHandle {
  readonly host: string;
  readonly port: number;
  /** Directory the capture files go to (empty without capture). */
  readonly captureDir: string;
  readonly process: ManagedProcess;
  /** Captured transactions, oldest first. */
  messages(): Promise<SinkMessage[]>;
  /** Waits until at least `n` transactions have been captured. */
  waitForMessages(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  stop(): Promise<void>;
}

/** Splits "<a@b> SIZE=1 BODY=8BITMIME" into the address (without <>) and its parameters. */
export function splitPathArgs(args: string): { address: string; params: string[] } {
  const m = /^\s*<([^>]*)>\s*(.*)$/.exec(args);
  if (m === null) {
    const [address = '', ...params] = args.trim().split(/\s+/);
    return { address, params };
  }
  const rest = (m[2] ?? '').trim();
  return { address: m[1] ?? '', params: rest === '' ? [] : rest.split(/\s+/) };
}

/** Parses one smtp-sink capture file (see "DUMP FILE FORMAT" in man smtp-sink). */
export function parseSinkCapture(text: string, file = '(capture)'): SinkMessage {
  const lines = text.split('\n');
  let i = 0;
  const fields: { name: string; value: string }[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('Received: ')) break;
    const m = /^(X-[A-Za-z-]+): ?(.*)$/.exec(line);
    if (m === null) throw new Error(`${file}: unexpected smtp-sink header line ${JSON.stringify(line)}`);
    fields.push({ name: m[1] ?? '', value: m[2] ?? '' });
  }
  if (i >= lines.length) throw new Error(`${file}: no smtp-sink Received header (incomplete capture?)`);
  // the Received header is three lines: "Received: from ...", "\tby ...", "\t<date>"
  i++;
  while (i < lines.length && /^[ \t]/.test(lines[i] ?? '')) i++;
  const one = (name: string): string | undefined => fields.find((f) => f.name === name)?.value;
  const mail = one('X-Mail-Args');
  if (mail === undefined) throw new Error(`${file}: no X-Mail-Args`);
  const from = splitPathArgs(mail);
  // the dump ends with the message's own last newline plus one empty line
  let data = lines.slice(i).join('\n');
  if (data.endsWith('\n')) data = data.slice(0, -1);
  return {
    file,
    clientAddr: one('X-Client-Addr') ?? '',
    clientProto: one('X-Client-Proto') ?? '',
    helo: one('X-Helo-Args'),
    mailFrom: from.address,
    mailParams: from.params,
    recipients: fields.filter((f) => f.name === 'X-Rcpt-Args').map((f) => splitPathArgs(f.value)),
    data,
  };
}

function sinkArgs(o: SmtpSinkOptions, captureDir: string | undefined, port: number): string[] {
  const a: string[] = [];
  if (process.getuid?.() === 0) a.push('-u', 'nobody');
  a.push('-h', o.hostname ?? 'lan.test');
  if (captureDir !== undefined) a.push('-d', `${captureDir}/%Y%m%d%H%M%S.`);
  const flags: readonly [boolean | undefined, string][] = [
    [o.noPipelining, '-p'],
    [o.no8BitMime, '-8'],
    [o.noDsn, '-N'],
    [o.noEnhancedStatusCodes, '-E'],
    [o.noAuth, '-a'],
    [o.noXclient, '-C'],
    [o.noXforward, '-F'],
    [o.noEsmtp, '-e'],
    [o.lmtp, '-L'],
    [o.counters, '-c'],
  ];
  for (const [on, flag] of flags) if (on === true) a.push(flag);
  const list = (flag: string, v: readonly string[] | undefined): void => {
    if (v !== undefined && v.length > 0) a.push(flag, v.join(','));
  };
  list('-f', o.hardReject);
  list('-r', o.softReject);
  list('-Q', o.quit421);
  list('-q', o.disconnect);
  if (o.hardReply !== undefined) a.push('-B', o.hardReply);
  if (o.softReply !== undefined) a.push('-b', o.softReply);
  if (o.dataDelaySec !== undefined) a.push('-w', String(o.dataDelaySec));
  for (const w of o.commandDelays ?? []) a.push('-W', w);
  if (o.abortAfterDataSec !== undefined) a.push('-A', String(o.abortAfterDataSec));
  if (o.timeoutSec !== undefined) a.push('-t', String(o.timeoutSec));
  if (o.maxConnections !== undefined) a.push('-m', String(o.maxConnections));
  a.push(...(o.extraArgs ?? []));
  const host = o.host ?? '127.0.0.1';
  a.push(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, String(o.backlog ?? 256));
  return a;
}

/** Reads every capture file in `dir`, oldest first. */
export async function readSinkCaptures(dir: string): Promise<SinkMessage[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const withTime = await Promise.all(
    names.map(async (n) => {
      const st = await stat(join(dir, n));
      return { n, t: st.mtimeMs, file: st.isFile() };
    }),
  );
  withTime.sort((a, b) => a.t - b.t || a.n.localeCompare(b.n));
  const out: SinkMessage[] = [];
  for (const { n, file } of withTime) {
    if (!file) continue;
    const path = join(dir, n);
    const text = await readFile(path, 'utf8');
    // XXX: a transaction in progress has a file too; a complete dump ends with the message's last
    // newline plus one empty line. Skip files that do not (yet).
    if (!text.endsWith('\n\n')) continue;
    out.push(parseSinkCapture(text, path));
  }
  return out;
}

/** Starts smtp-sink on 127.0.0.1 (or opts.host); resolves when it greets with 220. */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSinkHandle> {
  const dir = opts.dir ?? (await makeScratchDir('moat-sink-'));
  const capture = opts.capture ?? true;
  const captureDir = join(dir, 'cap');
  if (capture) await makeDirOwnedBy(captureDir, 'nobody');

  return startWithPortRetry(
    async (port) => {
      const proc = startProcess('/usr/sbin/smtp-sink', sinkArgs(opts, capture ? captureDir : undefined, port), {
        name: `smtp-sink:${port}`,
        ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
      });
      try {
        await waitForSmtpBanner(port, { timeoutMs: opts.readyTimeoutMs ?? 5000, process: proc, host: opts.host ?? '127.0.0.1' });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      const messages = (): Promise<SinkMessage[]> => (capture ? readSinkCaptures(captureDir) : Promise.resolve([]));
      return {
        host: opts.host ?? '127.0.0.1',
        port,
        captureDir: capture ? captureDir : '',
        process: proc,
        messages,
        waitForMessages: (n, timeoutMs = 10_000) =>
          waitUntil(
            async () => {
              const m = await messages();
              return m.length >= n ? m : undefined;
            },
            { timeoutMs, what: `${n} message(s) captured by smtp-sink on port ${port}`, process: proc },
          ),
        stop: async () => {
          await proc.stop();
        },
      };
    },
    { port: opts.port },
  );
}
