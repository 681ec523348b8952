// Runs Postfix's smtp-source load generator against a loopback server.
// Trusts: /usr/sbin/smtp-source (Postfix 3.7): -s parallel sessions, -m messages in total, -l body
// size, -r recipients per message; it exits non-zero on the first unexpected reply unless -A.
// It is always given -M (HELO name and default addresses) so it never needs the machine's name.
// Fails: the exit code is returned, not thrown; a run longer than timeoutMs is killed and rejects.
import { runCommand } from './process.js';

export interface SmtpSourceOptions {
  readonly port: number;
  /** Server IP; default 127.0.0.1. */
  readonly host?: string;
  /** -s: parallel sessions. */
  readonly sessions?: number;
  /** -m: messages in total. */
  readonly messages?: number;
  /** -l: body size in bytes. */
  readonly size?: number;
  /** -r: recipients per message. */
  readonly recipients?: number;
  readonly from?: string;
  readonly to?: string;
  /** -M: HELO name / default address domain; default "client.test". */
  readonly heloName?: string;
  /** -S: subject. */
  readonly subject?: string;
  /** -F: send this pre-formatted message file. */
  readonly messageFile?: string;
  /** -d: keep the connection for the next message. */
  readonly reuseConnection?: boolean;
  /** -c: print a running counter. */
  readonly counter?: boolean;
  /** -A: do not abort on an unexpected reply. */
  readonly noAbort?: boolean;
  /** -N: a different recipient for every message. */
  readonly uniqueRecipients?: boolean;
  readonly lmtp?: boolean;
  readonly extraArgs?: readonly string[];
  /** Default 120 s. */
  readonly timeoutMs?: number;
}

export interface SmtpSourceResult {
  readonly code: number | null;
  readonly elapsedMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Builds smtp-source arguments from options. */
export function smtpSourceArgs(o: SmtpSourceOptions): string[] {
  const a: string[] = ['-M', o.heloName ?? 'client.test'];
  const num = (flag: string, v: number | undefined): void => {
    if (v !== undefined) a.push(flag, String(v));
  };
  num('-s', o.sessions);
  num('-m', o.messages);
  num('-l', o.size);
  num('-r', o.recipients);
  if (o.from !== undefined) a.push('-f', o.from);
  if (o.to !== undefined) a.push('-t', o.to);
  if (o.subject !== undefined) a.push('-S', o.subject);
  if (o.messageFile !== undefined) a.push('-F', o.messageFile);
  const flags: readonly [boolean | undefined, string][] = [
    [o.reuseConnection, '-d'],
    [o.counter, '-c'],
    [o.noAbort, '-A'],
    [o.uniqueRecipients, '-N'],
    [o.lmtp, '-L'],
  ];
  for (const [on, flag] of flags) if (on === true) a.push(flag);
  a.push(...(o.extraArgs ?? []));
  a.push(`${o.host ?? '127.0.0.1'}:${o.port}`);
  return a;
}

/** Runs smtp-source to completion and reports its exit code and wall time. */
export async function runSmtpSource(o: SmtpSourceOptions): Promise<SmtpSourceResult> {
  const r = await runCommand('/usr/sbin/smtp-source', smtpSourceArgs(o), { timeoutMs: o.timeoutMs ?? 120_000 });
  return { code: r.code, elapsedMs: r.elapsedMs, stdout: r.stdout, stderr: r.stderr };
}
