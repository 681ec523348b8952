// Python's smtplib as a second real SMTP client (besides swaks): one transaction per call, run by
// /usr/bin/python3 (Debian's; the python3 on PATH may be another build) with smtplib_send.py.
// Trusts: the standard library's smtplib; the script binds the source address given (any of
// 127.0.0.0/8 works on loopback) and connects to the IP given, never a name.
// Fails: a disconnect or timeout inside the transaction is reported in `error`, not thrown; a script
// that hangs is killed after timeoutMs and the promise rejects.
import { fileURLToPath } from 'node:url';
import { runCommand } from './process.js';

const SCRIPT = fileURLToPath(new URL('./smtplib_send.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export type SmtplibReply = readonly [number, string];

export interface SmtplibOptions {
  readonly port: number;
  /** Server IP; default 127.0.0.1. */
  readonly host?: string;
  /** Local address to send from, e.g. "127.0.0.20". */
  readonly source?: string;
  readonly helo?: string;
  /** "" sends the null reverse-path "<>". */
  readonly from: string;
  readonly to: readonly string[];
  /** Default: a short message with a Subject. */
  readonly data?: string;
  readonly timeoutMs?: number;
}

export interface SmtplibResult {
  readonly banner: SmtplibReply | null;
  readonly ehlo: SmtplibReply | null;
  readonly mail: SmtplibReply | null;
  readonly rcpt: readonly SmtplibReply[];
  /** The end-of-data reply; null when DATA was not sent. */
  readonly data: SmtplibReply | null;
  readonly error: string | null;
}

export async function smtplibSend(o: SmtplibOptions): Promise<SmtplibResult> {
  const req = {
    host: o.host ?? '127.0.0.1',
    port: o.port,
    source: o.source ?? null,
    helo: o.helo ?? 'client.test',
    mail_from: o.from,
    rcpt_to: o.to,
    data: o.data ?? 'Subject: smtplib\r\n\r\nhello\r\n',
  };
  const r = await runCommand(PYTHON, [SCRIPT], { input: JSON.stringify(req), timeoutMs: o.timeoutMs ?? 40_000 });
  if (r.code !== 0) throw new Error(`smtplib_send.py exited ${String(r.code)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SmtplibResult;
}
