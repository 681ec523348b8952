// Runs swaks (the SMTP "swiss army knife") against a loopback server and returns its transcript.
// Trusts: /usr/bin/swaks 20201014; it connects to the IP given (never a name). Its own
// gethostbyname(hostname) is disabled by NoHostLookup.pm so it never asks the system resolver.
// Transcript prefixes: " -> " client, "<-  " server, "<~  "/" ~> " the same under TLS,
// "<** "/"<~* " a server reply swaks did not expect (e.g. a 5xx).
// Fails: the exit code is returned, not thrown (0 ok, 23/24/25... a failed phase); a swaks that
// hangs is killed after timeoutMs and the promise rejects.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './process.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface SwaksOptions {
  readonly port: number;
  /** Server IP; default 127.0.0.1. */
  readonly server?: string;
  readonly from?: string;
  readonly to?: string | readonly string[];
  /** Default "client.test". */
  readonly helo?: string;
  /**
   * The whole message (headers, blank line, body), sent on stdin via --data -. swaks always adds
   * a CRLF before the final ".", so one trailing line end of `data` is dropped: the server
   * receives exactly `data` (with CRLF line ends).
   */
  readonly data?: string;
  /** Extra headers for swaks' default message (--header "Name: value"). */
  readonly headers?: readonly string[];
  /** Body for swaks' default message. */
  readonly body?: string;
  /** Use STARTTLS (--tls). */
  readonly tls?: boolean;
  /** Bind the client to this local address (e.g. 127.0.0.10). */
  readonly localAddress?: string;
  readonly extraArgs?: readonly string[];
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

export interface SwaksResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Server reply lines without their prefix, e.g. ["220 lan.test ESMTP", "250-lan.test", ...]. */
  readonly replies: readonly string[];
}

/** Server reply lines from a swaks transcript ("<-", "<~", "<**", "<~*" prefixes stripped). */
export function serverReplies(transcript: string): string[] {
  const out: string[] = [];
  for (const line of transcript.split('\n')) {
    const m = /^<(?:-|~|\*\*|~\*) {1,2}(.*)$/.exec(line.replace(/\r$/, ''));
    if (m !== null) out.push(m[1] ?? '');
  }
  return out;
}

/** Runs swaks with raw arguments. */
export async function runSwaks(
  args: readonly string[],
  opts: { readonly input?: string; readonly timeoutMs?: number } = {},
): Promise<SwaksResult> {
  const res = await runCommand('/usr/bin/swaks', args, {
    timeoutMs: opts.timeoutMs ?? 30_000,
    env: { PERL5LIB: HERE, PERL5OPT: '-MNoHostLookup' },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  // swaks prints the transcript on stdout and some errors on stderr: look at both
  return { code: res.code, stdout: res.stdout, stderr: res.stderr, replies: serverReplies(`${res.stdout}\n${res.stderr}`) };
}

/** Builds swaks arguments from options. */
export function swaksArgs(o: SwaksOptions): string[] {
  const a = ['--server', o.server ?? '127.0.0.1', '--port', String(o.port), '--helo', o.helo ?? 'client.test'];
  a.push('--from', o.from ?? 'sender@example.test');
  const to = o.to === undefined ? ['rcpt@lan.test'] : typeof o.to === 'string' ? [o.to] : o.to;
  a.push('--to', to.join(','));
  if (o.data !== undefined) a.push('--data', '-');
  for (const h of o.headers ?? []) a.push('--header', h);
  if (o.body !== undefined) a.push('--body', o.body);
  if (o.tls === true) a.push('--tls');
  if (o.localAddress !== undefined) a.push('--local-interface', o.localAddress);
  a.push(...(o.extraArgs ?? []));
  return a;
}

/** Sends one message with swaks. */
export function swaks(o: SwaksOptions): Promise<SwaksResult> {
  return runSwaks(swaksArgs(o), {
    ...(o.data !== undefined ? { input: o.data.replace(/\r?\n$/, '') } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
}

const QUEUED = '250 2.0.0 Ok: queued as ';

/** The queue id in Moat's "250 2.0.0 Ok: queued as ID" reply; throws with swaks' transcript when there is none. */
export function queuedId(r: Pick<SwaksResult, 'replies' | 'stdout'>): string {
  const line = r.replies.find((x) => x.startsWith(QUEUED));
  if (!line) throw new Error(`no "${QUEUED}…" reply:\n${r.stdout}`);
  return line.slice(QUEUED.length);
}
