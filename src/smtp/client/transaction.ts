/**
 * One mail transaction (RFC 5321 §3.3): MAIL, RCPT per recipient, DATA, the dot-stuffed body, ".".
 * With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and DATA go out in one write — DATA is the last
 * command of the group — and the replies are read in order; without it, lock-step. The body is sent
 * only after a 354 and only when at least one recipient was accepted (RFC 5321 §3.3). Trusts the
 * Transport for timeouts, aborts and 421; throws its errors, and PROTOCOL for a reply of the wrong
 * class. A body that fails to read kills the connection rather than ending the message early.
 */
import type { SmtpReply } from '../reply.js';
import type { Capabilities } from './capabilities.js';
import { DotStuffer } from './dot-stuff.js';
import { mailCommand, rcptCommand, type Envelope } from './envelope.js';
import { SmtpClientError } from './errors.js';
import type { Timeouts } from './options.js';
import type { Transport } from './transport.js';

export interface TransactionResult {
  readonly kind: 'transaction';
  /** The reply to MAIL. */
  readonly mail: SmtpReply;
  /** One reply per recipient, in input order; the MAIL reply for all when MAIL failed. */
  readonly recipients: readonly SmtpReply[];
  /**
   * The reply that decided the message for the accepted recipients: the DATA command's reply when
   * it was not 354, else the reply to the final ".". null when no recipient was accepted.
   */
  readonly data: SmtpReply | null;
}

export interface TransactionRun {
  readonly result: TransactionResult;
  /** MAIL was accepted and no end-of-data reply cleared it: an RSET is due (RFC 5321 §4.1.1.5). */
  readonly open: boolean;
}

const is2xx = (r: SmtpReply): boolean => r.code >= 200 && r.code < 300;

/** RFC 5321 §4.3.2: MAIL and RCPT answer 2xx, 4xx or 5xx, DATA 354, 4xx or 5xx. */
function expect(r: SmtpReply, what: string, ok: (code: number) => boolean): SmtpReply {
  if (ok(r.code)) return r;
  throw new SmtpClientError('PROTOCOL', `unexpected reply ${r.code} to ${what}`, { transient: true, reply: r });
}
const mailOrRcpt = (c: number): boolean => c < 300 || c >= 400;
const dataCmd = (c: number): boolean => c === 354 || c >= 400;
const final = (c: number): boolean => c < 300 || c >= 400;

export async function runTransaction(
  t: Transport,
  caps: Capabilities,
  timeouts: Timeouts,
  env: Envelope,
  body: AsyncIterable<Buffer | string>,
  signal: AbortSignal,
): Promise<TransactionRun> {
  const mailLine = mailCommand(env, caps);
  const rcptLines = env.recipients.map((r) => rcptCommand(r, caps));
  const read = async (what: string, ok: (c: number) => boolean): Promise<SmtpReply> =>
    expect(await t.readReply(timeouts.command, signal, what), what, ok);

  if (caps.pipelining) {
    await t.write([mailLine, ...rcptLines, 'DATA', ''].join('\r\n'), timeouts.command, signal, 'MAIL');
    const mail = await read('MAIL', mailOrRcpt);
    const rcpts: SmtpReply[] = [];
    for (let i = 0; i < rcptLines.length; i++) rcpts.push(await read('RCPT', mailOrRcpt));
    const data = await read('DATA', dataCmd);
    const accepted = is2xx(mail) && rcpts.some(is2xx);
    const recipients = is2xx(mail) ? rcpts : rcpts.map(() => mail);
    if (data.code !== 354) {
      return { result: { kind: 'transaction', mail, recipients, data: accepted ? data : null }, open: is2xx(mail) };
    }
    if (!accepted) {
      // RFC 2920 §3.1: a server that answers 354 despite no valid recipient gets an empty message;
      // with no recipient it delivers nothing, and its reply clears the transaction.
      await t.write('.\r\n', timeouts.dataBlock, signal, 'end of data');
      await read('end of data', final);
      return { result: { kind: 'transaction', mail, recipients, data: null }, open: false };
    }
    return { result: { kind: 'transaction', mail, recipients, data: await sendBody(t, timeouts, body, signal) }, open: false };
  }

  const mail = expect(await t.command(mailLine, timeouts.command, signal), 'MAIL', mailOrRcpt);
  if (!is2xx(mail)) {
    return { result: { kind: 'transaction', mail, recipients: rcptLines.map(() => mail), data: null }, open: false };
  }
  const recipients: SmtpReply[] = [];
  for (const line of rcptLines) recipients.push(expect(await t.command(line, timeouts.command, signal), 'RCPT', mailOrRcpt));
  if (!recipients.some(is2xx)) return { result: { kind: 'transaction', mail, recipients, data: null }, open: true };
  const data = expect(await t.command('DATA', timeouts.command, signal), 'DATA', dataCmd);
  if (data.code !== 354) return { result: { kind: 'transaction', mail, recipients, data }, open: true };
  return { result: { kind: 'transaction', mail, recipients, data: await sendBody(t, timeouts, body, signal) }, open: false };
}

export interface ProbeResult {
  readonly kind: 'probe';
  readonly mail: SmtpReply;
  /** null when MAIL was refused (RCPT was not sent). */
  readonly rcpt: SmtpReply | null;
}

/**
 * Recipient verification (what Postfix's verify(8) does): MAIL, and RCPT when MAIL was accepted, in
 * lock-step — never DATA, so nothing is delivered. The caller RSETs (RFC 5321 §4.1.1.5) when
 * `open` says the transaction is still open.
 */
export async function runProbe(t: Transport, caps: Capabilities, timeouts: Timeouts, env: Envelope, signal: AbortSignal): Promise<{ result: ProbeResult; open: boolean }> {
  const rcpt = env.recipients[0];
  if (!rcpt || env.recipients.length !== 1) throw new SmtpClientError('INVALID_ARGUMENT', 'a probe has exactly one recipient', { transient: false });
  const mail = expect(await t.command(mailCommand(env, caps), timeouts.command, signal), 'MAIL', mailOrRcpt);
  if (!is2xx(mail)) return { result: { kind: 'probe', mail, rcpt: null }, open: false };
  const reply = expect(await t.command(rcptCommand(rcpt, caps), timeouts.command, signal), 'RCPT', mailOrRcpt);
  return { result: { kind: 'probe', mail, rcpt: reply }, open: true };
}

/** Streams the body with backpressure (each write waits for 'drain', §4.5.3.2.5) and reads the final reply. */
async function sendBody(
  t: Transport,
  timeouts: Timeouts,
  body: AsyncIterable<Buffer | string>,
  signal: AbortSignal,
): Promise<SmtpReply> {
  const stuffer = new DotStuffer();
  try {
    for await (const chunk of readBody(t, body)) {
      await t.write(stuffer.push(chunk), timeouts.dataBlock, signal, 'DATA block');
      // A reply before our "." means the server gave up on the message (e.g. 552 while streaming).
      if (t.hasUnsolicited) return earlyReply(t, await t.readReply(timeouts.command, signal, 'DATA'));
    }
    await t.write(stuffer.end(), timeouts.dataBlock, signal, 'end of data');
  } catch (e) {
    // A server that rejects mid-body often closes right after its reply: keep the reply if it came.
    const early = e instanceof SmtpClientError && e.code === 'BODY_READ_FAILED' ? null : t.takeQueued();
    if (early && early.code !== 421) return earlyReply(t, early);
    throw e;
  }
  return expect(await t.readReply(timeouts.dataEnd, signal, 'end of data'), 'end of data', final);
}

async function* readBody(t: Transport, body: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<Buffer | string>;
      try {
        step = await it.next();
      } catch (cause) {
        finished = true;
        // Ending the message here would deliver it truncated: kill the connection instead.
        const e = new SmtpClientError('BODY_READ_FAILED', 'reading the message body failed', { transient: true, cause });
        t.fail(e);
        throw e;
      }
      if (step.done) {
        finished = true;
        return;
      }
      yield typeof step.value === 'string' ? Buffer.from(step.value, 'utf8') : step.value;
    }
  } finally {
    // We stopped early (server reply, write failure): let the source close its file.
    if (!finished) await it.return?.();
  }
}

/** The connection's state after a mid-body reply is unknown, so it is not reused. */
function earlyReply(t: Transport, reply: SmtpReply): SmtpReply {
  t.fail(new SmtpClientError('PROTOCOL', `server replied ${reply.code} before the end of data`, { transient: true, reply }));
  return expect(reply, 'DATA', (c) => c >= 400);
}
