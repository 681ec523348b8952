// A small SMTP load generator that measures, per message, the end-of-data latency: the time from
// handing the final ".\r\n" to the kernel to reading the server's reply to it, i.e. what the
// gateway spends receiving the last bytes, deciding, writing the message to disk and answering.
// Shape of the load: each of `sessions` concurrent workers either opens a connection per message
// (greeting, EHLO, MAIL, RCPT, DATA, body, ".", QUIT), like smtp-source without -d, or, with
// `reuse`, keeps one connection and sends its messages one after another on it (MAIL, RCPT,
// DATA, body, "." again after each 250), like smtp-source -d; a connection that failed is
// replaced by a fresh one for the next message.
// The message is the same built body for every transaction, or (`bodies`) each worker takes the
// next of a list of messages in wire form (lib/message.ts toWire), round-robin over the run.
// `bodyFor` builds each transaction's message instead (e.g. with its own Message-ID), and
// `ratePerSec` paces the starts (a steady rate, the soak suite) instead of going flat out.
// With `countRejects`, a 5xx to the end of data is a verdict (counted in `rejected`, with its
// latency), not a failure: a filtering gateway refuses spam and viruses there.
// Trusts: the server to be an SMTP server on loopback; replies are parsed per RFC 5321 4.2
// (multi-line "250-" continuation). Commands are not pipelined.
// Fails: a connection error, a timeout or an unexpected reply counts the message as failed (with
// the reason kept) and the worker goes on with the next message; the run as a whole is bounded
// by `timeoutMs`, after which open connections are destroyed and the result says so: the messages
// that bound left without an outcome (never started, or cut off in flight) are `unsent`, not failed.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildMessage } from './message.js';

export interface LoadOptions {
  readonly host?: string;
  readonly port: number;
  readonly sessions: number;
  readonly messages: number;
  readonly bodySize: number;
  readonly from: string;
  readonly to: string;
  /** Keep each worker's connection for its next message (smtp-source -d); default false. */
  readonly reuse?: boolean;
  readonly heloName?: string;
  /** Per-reply deadline; default 60 s. */
  readonly replyTimeoutMs?: number;
  /** Whole-run deadline; default 10 min. */
  readonly timeoutMs?: number;
  /** Messages in wire form (CRLF, dot-stuffed, without the final "."), used in turn instead of a built body. */
  readonly bodies?: readonly Buffer[];
  /** A 5xx end-of-data reply counts as `rejected` instead of failed; default false. */
  readonly countRejects?: boolean;
  /** Builds the message of transaction i (wire form); over `bodies` and the built body. */
  readonly bodyFor?: (i: number) => Buffer;
  /** Pacing: transaction i starts no earlier than i / ratePerSec seconds after the run's start. */
  readonly ratePerSec?: number;
  /** Called with i when transaction i got its end-of-data 2xx. */
  readonly onAccepted?: (i: number) => void;
}

export interface LoadResult {
  /** End-of-data latency of each accepted (2xx) message, in ms. */
  readonly latenciesMs: readonly number[];
  readonly accepted: number;
  /** End-of-data latency of each message refused with a 5xx (only with countRejects). */
  readonly rejectedLatenciesMs: readonly number[];
  readonly rejected: number;
  /** An SMTP error reply, a connection error or a reply timeout, before the run's time bound. */
  readonly failed: number;
  /**
   * Messages the run's time bound (`timeoutMs`) left without an outcome: never started, or in
   * flight when it destroyed their connections (those are `cutOff` too). messages = accepted +
   * rejected + failed + unsent.
   */
  readonly unsent: number;
  readonly cutOff: number;
  /** Up to 10 failure reasons (not the cut-off ones). */
  readonly errors: readonly string[];
  readonly elapsedMs: number;
  readonly timedOut: boolean;
}

export interface Reply {
  readonly code: number;
  readonly text: string;
}

/** One SMTP connection with a reply reader. */
export class Conversation {
  readonly #sock: Socket;
  readonly #timeoutMs: number;
  #buf = '';
  #lines: string[] = [];
  #want: ((r: Reply | Error) => void) | undefined;
  /** Replies that arrived while nobody was waiting (never more than one in this client). */
  readonly #unread: Reply[] = [];
  #closed: Error | undefined;

  constructor(sock: Socket, timeoutMs: number) {
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    sock.setEncoding('latin1');
    sock.setNoDelay(true);
    sock.on('data', (chunk: string) => this.#onData(chunk));
    const fail = (e: Error): void => {
      this.#closed ??= e;
      this.#deliver(this.#closed);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  #deliver(r: Reply | Error): void {
    const w = this.#want;
    this.#want = undefined;
    if (w !== undefined) w(r);
    else if (!(r instanceof Error)) this.#unread.push(r);
  }

  #onData(chunk: string): void {
    this.#buf += chunk;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const line = this.#buf.slice(0, nl).replace(/\r$/, '');
      this.#buf = this.#buf.slice(nl + 1);
      this.#lines.push(line);
      if (!/^\d{3}-/.test(line)) {
        const text = this.#lines.join('\n');
        this.#lines = [];
        this.#deliver({ code: Number(line.slice(0, 3)), text });
      }
    }
  }

  /** The next complete reply. */
  reply(): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const early = this.#unread.shift();
      if (early !== undefined) {
        resolve(early);
        return;
      }
      if (this.#closed !== undefined) {
        reject(this.#closed);
        return;
      }
      const timer = setTimeout(() => this.#deliver(new Error(`no reply within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      this.#want = (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  /** Writes and resolves once the data is handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#sock.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  async command(line: string, expect: number): Promise<Reply> {
    const pending = this.reply();
    await this.write(`${line}\r\n`);
    return expectCode(await pending, expect, line);
  }

  destroy(): void {
    this.#sock.destroy();
  }
}

export function expectCode(r: Reply, expect: number, what: string): Reply {
  if (Math.floor(r.code / 100) !== Math.floor(expect / 100)) throw new Error(`${what}: ${r.text}`);
  return r;
}

export function open(host: string, port: number, timeoutMs: number, live: Set<Socket>): Promise<Conversation> {
  return new Promise<Conversation>((resolve, reject) => {
    const sock = connect({ host, port });
    live.add(sock);
    sock.once('close', () => live.delete(sock));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // destroyed by the run's deadline before it connected (no 'error' then); after 'connect' a no-op
    sock.once('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed before it was established'));
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(new Conversation(sock, timeoutMs));
    });
  });
}

/** Opens a connection and says EHLO; the caller destroys it. */
export async function greeted(o: Pick<LoadOptions, 'host' | 'port' | 'replyTimeoutMs' | 'heloName'>, live: Set<Socket>): Promise<Conversation> {
  const c = await open(o.host ?? '127.0.0.1', o.port, o.replyTimeoutMs ?? 60_000, live);
  try {
    expectCode(await c.reply(), 220, 'greeting');
    await c.command(`EHLO ${o.heloName ?? 'client.test'}`, 250);
    return c;
  } catch (err: unknown) {
    c.destroy();
    throw err;
  }
}

/** The outcome of one transaction: its end-of-data latency and whether it was refused (5xx). */
export interface Outcome {
  readonly ms: number;
  readonly rejected: boolean;
}

/** One transaction on an open, greeted connection; see Outcome. */
async function transaction(c: Conversation, o: LoadOptions, body: Buffer): Promise<Outcome> {
  await c.command(`MAIL FROM:<${o.from}>`, 250);
  await c.command(`RCPT TO:<${o.to}>`, 250);
  await c.command('DATA', 354);
  await c.write(body);
  const pending = c.reply();
  const t0 = performance.now();
  await c.write('.\r\n');
  const r = await pending;
  const ms = performance.now() - t0;
  if (o.countRejects === true && r.code >= 500 && r.code < 600) return { ms, rejected: true };
  expectCode(r, 250, 'end of data');
  return { ms, rejected: false };
}

/** Sends one message on a fresh connection; see Outcome. */
async function sendOne(o: LoadOptions, body: Buffer, live: Set<Socket>): Promise<Outcome> {
  const c = await greeted(o, live);
  try {
    const outcome = await transaction(c, o, body);
    await c.command('QUIT', 221).catch(() => undefined);
    return outcome;
  } finally {
    c.destroy();
  }
}

/** Runs the load and collects per-message end-of-data latencies. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const built = o.bodies === undefined || o.bodies.length === 0 ? [buildMessage({ from: o.from, to: o.to, bodySize: o.bodySize, id: `${process.pid}.${Date.now()}` })] : o.bodies;
  const latencies: number[] = [];
  const rejectedMs: number[] = [];
  const record = (i: number, r: Outcome): void => {
    (r.rejected ? rejectedMs : latencies).push(r.ms);
    if (!r.rejected) o.onAccepted?.(i);
  };
  // the message of transaction i (taken when the worker starts it)
  const bodyOf = (i: number): Buffer => o.bodyFor?.(i) ?? built[i % built.length] ?? Buffer.alloc(0);
  // with a rate, waits until transaction i's start time (bounded by the run's deadline through `stopped`)
  const pace = async (i: number): Promise<void> => {
    if (o.ratePerSec === undefined || o.ratePerSec <= 0) return;
    const wait = started + (i * 1000) / o.ratePerSec - performance.now();
    if (wait > 0) await sleep(wait);
  };
  const errors: string[] = [];
  const live = new Set<Socket>();
  let next = 0;
  let failed = 0;
  let cutOff = 0;
  let stopped = false;
  const started = performance.now();
  const fail = (err: unknown): void => {
    // after the deadline every open connection is destroyed by this client: not the server's failure
    if (stopped) {
      cutOff++;
      return;
    }
    failed++;
    if (errors.length < 10) errors.push(err instanceof Error ? err.message : String(err));
  };
  const worker = async (): Promise<void> => {
    while (!stopped && next < o.messages) {
      const i = next++;
      await pace(i);
      if (stopped) break;
      const body = bodyOf(i);
      try {
        record(i, await sendOne(o, body, live));
      } catch (err: unknown) {
        fail(err);
      }
    }
  };
  const reusingWorker = async (): Promise<void> => {
    let c: Conversation | undefined;
    try {
      while (!stopped && next < o.messages) {
        const i = next++;
        await pace(i);
        if (stopped) break;
        const body = bodyOf(i);
        try {
          c ??= await greeted(o, live);
          record(i, await transaction(c, o, body));
        } catch (err: unknown) {
          fail(err);
          c?.destroy();
          c = undefined;
        }
      }
      await c?.command('QUIT', 221).catch(() => undefined);
    } finally {
      c?.destroy();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), o.timeoutMs ?? 600_000);
  });
  const workers = Promise.all(Array.from({ length: Math.max(1, o.sessions) }, o.reuse === true ? reusingWorker : worker));
  const outcome = await Promise.race([workers.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    stopped = true;
    for (const s of live) s.destroy();
    await workers;
  }
  return {
    latenciesMs: latencies,
    accepted: latencies.length,
    rejectedLatenciesMs: rejectedMs,
    rejected: rejectedMs.length,
    failed,
    unsent: o.messages - latencies.length - rejectedMs.length - failed,
    cutOff,
    errors,
    elapsedMs: performance.now() - started,
    timedOut: outcome === 'timeout',
  };
}
