/**
 * Rspamd's normal worker over its HTTP protocol (rspamd docs, "Rspamd protocol"): `POST /checkv2`
 * with the message as the body and the envelope as request headers (IP, Helo, From, one Rcpt per
 * recipient, Queue-Id, Hostname); the answer is JSON with `score`, `required_score`, `action` and
 * `symbols{NAME:{score, description?, options?}}`. The controller's password is not needed for
 * checkv2. One request per check (rspamd closes the connection after it), at most `maxConcurrent`
 * at once.
 * Trusts: the answer's numbers and names as far as they fit the shape checked below; texts are made
 * printable and bounded before they reach logs.
 * Fails: down, slow, non-200 answers or JSON of another shape → ScannerError, so the check throws
 * and the message is deferred unless fail-open.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { peerText, ScannerError, Slots } from './scanner-io.js';

export interface RspamdEnvelope {
  readonly ip: string;
  readonly helo?: string;
  /** The envelope sender as written in MAIL FROM, "<>" for the null sender. */
  readonly from: string;
  readonly rcpt: readonly string[];
  readonly queueId?: string;
  /** The client's verified host name, or "unknown". */
  readonly hostname?: string;
}

export interface RspamdSymbol {
  readonly name: string;
  readonly score: number;
  readonly description?: string;
  readonly options?: readonly string[];
}

export interface RspamdVerdict {
  readonly score: number;
  readonly requiredScore: number;
  /** "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject". */
  readonly action: string;
  readonly symbols: readonly RspamdSymbol[];
  /** Rspamd's smtp_message, when it gave one (for logs only). */
  readonly message?: string;
}

export interface RspamdRequest {
  readonly content: AsyncIterable<Buffer>;
  readonly size: number;
  readonly envelope: RspamdEnvelope;
}

/** The port an Rspamd check uses. */
export interface RspamdScanner {
  check(request: RspamdRequest, signal: AbortSignal): Promise<RspamdVerdict>;
}

export interface RspamdOptions {
  /** The normal worker, e.g. http://127.0.0.1:11333 (https also works, behind a TLS proxy). */
  readonly url: URL;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
}

const NAME = 'rspamd';
const MAX_ANSWER = 4 * 1024 * 1024;

const answerSchema = z.object({
  score: z.number(),
  required_score: z.number(),
  action: z.string(),
  symbols: z
    .record(
      z.string(),
      z.object({
        score: z.number().optional(),
        description: z.string().optional(),
        options: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  messages: z.object({ smtp_message: z.string().optional() }).optional(),
});

/** Rspamd's JSON answer as a verdict; anything else is a ScannerError. Exported for tests. */
export function parseRspamdAnswer(status: number, body: Buffer): RspamdVerdict {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ScannerError('SCANNER_PROTOCOL', NAME, `HTTP ${status} with a body that is not JSON`);
  }
  if (status !== 200) {
    const error = (json as { error?: unknown } | null)?.error;
    throw new ScannerError('SCANNER_REFUSED', NAME, `HTTP ${status}${typeof error === 'string' ? `: ${peerText(error)}` : ''}`);
  }
  const r = answerSchema.safeParse(json);
  if (!r.success) throw new ScannerError('SCANNER_PROTOCOL', NAME, `answer of an unexpected shape (${peerText(r.error.issues[0]?.message ?? '')})`);
  const a = r.data;
  const symbols = Object.entries(a.symbols ?? {})
    .slice(0, 500)
    .map(([name, s]): RspamdSymbol => ({
      name: peerText(name, 64),
      score: s.score ?? 0,
      ...(s.description !== undefined ? { description: peerText(s.description) } : {}),
      ...(s.options !== undefined ? { options: s.options.slice(0, 10).map((o) => peerText(o, 100)) } : {}),
    }));
  const message = a.messages?.smtp_message;
  return { score: a.score, requiredScore: a.required_score, action: peerText(a.action, 40), symbols, ...(message !== undefined ? { message: peerText(message) } : {}) };
}

/** A header value as octets: UTF-8 addresses (SMTPUTF8) pass as their UTF-8 bytes, never mangled. */
function octets(v: string): string {
  return Buffer.from(v.replace(/[\r\n\0]/g, ''), 'utf8').toString('latin1');
}

function envelopeHeaders(e: RspamdEnvelope, size: number): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = { 'Content-Length': String(size), IP: e.ip, From: octets(e.from) };
  if (e.rcpt.length > 0) h['Rcpt'] = e.rcpt.map(octets);
  if (e.helo !== undefined) h['Helo'] = octets(e.helo);
  if (e.queueId !== undefined) h['Queue-Id'] = octets(e.queueId);
  if (e.hostname !== undefined) h['Hostname'] = octets(e.hostname);
  return h;
}

export class RspamdClient implements RspamdScanner {
  private readonly slots: Slots;
  private readonly checkUrl: URL;
  private readonly pingUrl: URL;

  constructor(private readonly o: RspamdOptions) {
    this.slots = new Slots(o.maxConcurrent, NAME);
    const base = o.url.href.endsWith('/') ? o.url : new URL(`${o.url.href}/`);
    this.checkUrl = new URL('checkv2', base);
    this.pingUrl = new URL('ping', base);
  }

  async check(req: RspamdRequest, signal: AbortSignal): Promise<RspamdVerdict> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      const { status, body } = await this.send(this.checkUrl, envelopeHeaders(req.envelope, req.size), req, deadline);
      return parseRspamdAnswer(status, body);
    });
  }

  /** The worker's GET /ping, answered 200 "pong"; anything else throws a ScannerError. */
  async ping(signal: AbortSignal): Promise<void> {
    return this.slots.run(signal, this.o.timeoutMs, async (deadline) => {
      const { status, body } = await this.send(this.pingUrl, {}, null, deadline);
      const text = body.toString('latin1').trim();
      if (status !== 200 || text !== 'pong') throw new ScannerError('SCANNER_PROTOCOL', NAME, `ping answered ${status} "${peerText(text, 60)}"`);
    });
  }

  /** POST of a message (or GET without one) with the time budget's signal; the answer's status and body. */
  private send(url: URL, headers: Record<string, string | string[]>, req: Pick<RspamdRequest, 'content' | 'size'> | null, signal: AbortSignal): Promise<{ status: number; body: Buffer }> {
    const where = this.o.url.host;
    return new Promise((resolve, reject) => {
      const fail = (e: unknown): void => {
        if (e instanceof ScannerError) reject(e);
        else if (signal.aborted) reject(new ScannerError('SCANNER_TIMEOUT', NAME, `no answer from ${where} within the time budget`));
        else {
          const code = (e as NodeJS.ErrnoException).code;
          const down = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'EADDRNOTAVAIL'].includes(code ?? '');
          reject(new ScannerError(down ? 'SCANNER_UNAVAILABLE' : 'SCANNER_PROTOCOL', NAME, `${where}: ${code ?? (e instanceof Error ? e.message : String(e))}`));
        }
      };
      const open = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const r = open(url, { method: req ? 'POST' : 'GET', headers, signal, agent: false }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (d: Buffer) => {
          got += d.length;
          if (got > MAX_ANSWER) {
            res.destroy();
            fail(new ScannerError('SCANNER_PROTOCOL', NAME, `answer longer than ${MAX_ANSWER} octets`));
          } else chunks.push(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', fail);
      });
      r.on('error', fail);
      if (!req) {
        r.end();
        return;
      }
      void (async () => {
        let sent = 0;
        for await (const piece of req.content) {
          sent += piece.length;
          if (sent > req.size) throw new ScannerError('SCANNER_PROTOCOL', NAME, `message longer than its size ${req.size}`);
          if (r.destroyed) return;
          if (!r.write(piece)) await new Promise<void>((done) => {
            const go = (): void => {
              r.off('drain', go);
              r.off('close', go);
              done();
            };
            r.once('drain', go);
            r.once('close', go);
          });
        }
        if (sent !== req.size) throw new ScannerError('SCANNER_PROTOCOL', NAME, `message of ${sent} octets, announced ${req.size}`);
        r.end();
      })().catch((e: unknown) => {
        r.destroy();
        fail(e);
      });
    });
  }
}
