/**
 * One SMTP server session (RFC 5321 §4.1, §4.3.2 sequencing), as a sequential loop over typed commands:
 * read → parse → check sequence → ask the handler → reply. Trusts nothing from the socket; every
 * read has a deadline that trickled octets do not extend (idle, command, DATA, and the whole session,
 * which also bounds the tarpit and a client that stops reading our replies); every reply comes from
 * reply.ts. Errors slow the session down (tarpit) and too many end it, as does a command flood. On
 * request the greeting is split for a pregreet test (RFC 5321 §4.2.1 multi-line reply). A handler
 * failure becomes 451 with a reference id; its message goes to `onInternalError`, never to the client.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { parseCommand, type Command } from '../command.js';
import * as R from '../reply.js';
import type { SmtpReply } from '../reply.js';
import { BodyDecoder, type BodyProblem } from '../body-decoder.js';
import { Input } from './input.js';
import type { CloseReason, ConnectionInfo, MessageSink, Recipient, SessionHandler, TlsInfo, Transaction } from './handler.js';
import { COMMAND_LINE_LIMIT, ENVELOPE_LINE_LIMIT, TEXT_LINE_LIMIT, ehloKeywords, type ServerOptions } from './options.js';
import { ReplyOutput } from './output.js';
import { deadline, sleep } from '../../platform/deadline.js';
import { CommandRate, tarpitDelay } from './pacing.js';
import { AUTH_MECHANISMS, decodeBase64Text, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, parsePlain, type AuthCredentials } from './sasl.js';
import { HandshakeFailure, serverHandshake } from './tls-handshake.js';

const READ_CHUNK = 64 * 1024;
/** RFC 4954 §4: an AUTH command or response line may be 12288 octets long. */
const AUTH_LINE_LIMIT = 12_288;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class SessionEnd extends Error {
  constructor(readonly reason: CloseReason) {
    super(reason);
  }
}

interface OpenTransaction {
  from: Transaction['from'];
  mailParams: Transaction['mailParams'];
  recipients: Recipient[];
  /** Set once content started arriving by BDAT (RFC 3030 forbids mixing with DATA). */
  bdat: { sink: MessageSink | null; decoder: BodyDecoder; failed: SmtpReply | null } | null;
}

export interface SessionHooks {
  onInternalError(reference: string, error: unknown): void;
  /** A session limit ended the session (logged as session.limit). */
  onLimit?(info: ConnectionInfo, limit: 'errors' | 'command-rate', reply: SmtpReply): void;
  /** The STARTTLS handshake failed (reason: OpenSSL's words or an errno, never data). */
  onTlsFailed?(info: ConnectionInfo, reason: string): void;
}

export class Session {
  private readonly input: Input;
  private readonly out: ReplyOutput;
  private helo: { name: string; extended: boolean } | null = null;
  private tx: OpenTransaction | null = null;
  private tlsInfo: TlsInfo | null = null;
  private authenticated = false;
  private errors = 0;
  /** Tarpit before the next reply, set by an error reply. */
  private delayNextMs = 0;
  private readonly commandRate: CommandRate;
  private errorRefs = 0;
  private closed = false;
  private draining = false;
  private readonly lifetime = new AbortController();
  private idleRead: AbortController | null = null;

  constructor(
    socket: Socket,
    private readonly info: ConnectionInfo,
    private readonly handler: SessionHandler,
    private readonly options: ServerOptions,
    private readonly hooks: SessionHooks,
    /** Input already attached to the socket (the listener read a PROXY header from it). */
    input?: Input,
  ) {
    this.input = input ?? new Input(options.limits.pipelineBuffer);
    this.out = new ReplyOutput(socket, () => this.input.pending, this.lifetime.signal);
    if (!input) this.input.attach(socket);
    this.commandRate = new CommandRate(options.limits.commandRate);
    socket.on('error', () => undefined); // reported as 'close'; never crash on ECONNRESET
  }

  /** Graceful shutdown: idle sessions get 421 now, busy ones after their transaction. */
  shutdown(): void {
    this.draining = true;
    if (!this.tx) this.idleRead?.abort(new SessionEnd('shutdown'));
  }

  /** Hard stop, for the end of the shutdown grace period. */
  abort(): void {
    this.lifetime.abort(new SessionEnd('shutdown'));
  }

  async run(): Promise<void> {
    const timer = setTimeout(() => this.lifetime.abort(new SessionEnd('timeout')), this.options.limits.sessionTimeoutMs);
    let reason: CloseReason = 'error';
    try {
      const opening = await this.call(() => this.handler.connect());
      // RFC 8314 §3: on an implicit-TLS listener every octet, the greeting too, goes over TLS.
      const implicit = this.options.implicitTls === true && this.options.tls !== null;
      if (implicit) await this.startTls(this.options.tls as SecureContext, this.input.take());
      if (opening && 'code' in opening) {
        await this.send(opening);
        throw new SessionEnd('refused');
      }
      // A TLS client talks first by design: no pregreet test there.
      if (opening && opening.pregreetWaitMs > 0 && !implicit) await this.pregreet(opening.pregreetWaitMs);
      else await this.send(R.greeting(this.options.hostname));
      for (;;) await this.step();
    } catch (e) {
      reason = await this.endWith(e);
    } finally {
      clearTimeout(timer);
      this.close(reason);
    }
  }

  private async endWith(e: unknown): Promise<CloseReason> {
    const end = e instanceof SessionEnd ? e : this.lifetime.signal.reason instanceof SessionEnd ? this.lifetime.signal.reason : null;
    if (!end) {
      this.hooks.onInternalError(this.reference(), e);
      return 'error';
    }
    const farewell: Partial<Record<CloseReason, SmtpReply>> = {
      timeout: R.timedOut(this.options.hostname),
      shutdown: R.serviceUnavailable(this.options.hostname),
      'too-many-errors': R.tooManyErrors(),
      'command-rate': R.commandRateExceeded(),
      'bare-newline': R.bareNewline(),
    };
    const reply = farewell[end.reason];
    if (end.reason === 'too-many-errors' && reply) this.hooks.onLimit?.(this.info, 'errors', reply);
    if (end.reason === 'command-rate' && reply) this.hooks.onLimit?.(this.info, 'command-rate', reply);
    // Written without waiting for the client to read it: a client that stopped reading must not hold us.
    if (reply) this.out.writeNow(formatFor(reply, this.helo?.extended === true));
    return end.reason;
  }

  /**
   * Pregreet: "220-host ESMTP" now, the final line only after `waitMs` of silence (or the handler's
   * leave). Early octets stay buffered (bounded) and are read as commands if the session goes on.
   */
  private async pregreet(waitMs: number): Promise<void> {
    const greeting = R.greeting(this.options.hostname);
    this.out.writeNow(R.formatReply(greeting, false, true));
    const wait = deadline(waitMs, [this.lifetime.signal]);
    try {
      await this.input.waitReadable(wait.signal);
    } catch (e) {
      if (this.lifetime.signal.aborted) throw this.lifetime.signal.reason instanceof SessionEnd ? this.lifetime.signal.reason : e;
    } finally {
      wait.clear();
    }
    const octets = this.input.pending;
    if (octets === 0 && this.input.closed) throw new SessionEnd('client-closed');
    const greeted = this.handler.greeted?.bind(this.handler);
    const verdict = greeted ? await this.call(() => greeted({ talkedFirst: octets > 0, octets })) : null;
    if (verdict) {
      await this.send(verdict);
      throw new SessionEnd('refused');
    }
    await this.send(greeting);
  }

  private async step(): Promise<void> {
    if (this.draining && !this.tx) throw new SessionEnd('shutdown');
    if (this.input.pending === 0) this.out.flush();
    this.idleRead = new AbortController();
    const l = this.options.limits;
    const parents = [this.lifetime.signal, this.idleRead.signal];
    let r;
    const waits: { clear(): void }[] = [];
    try {
      if (this.delayNextMs > 0) {
        // Tarpit: the reply to the next command waits; nothing more is read meanwhile.
        this.out.flush();
        const ms = this.delayNextMs;
        this.delayNextMs = 0;
        const tarpit = deadline(null, parents);
        waits.push(tarpit);
        await sleep(ms, tarpit.signal);
      }
      const command = deadline(l.commandTimeoutMs, parents);
      waits.push(command);
      // The idle deadline is for the first octet; the command deadline for the whole line.
      if (l.idleTimeoutMs < l.commandTimeoutMs && this.input.pending === 0) {
        const idle = deadline(l.idleTimeoutMs, [command.signal]);
        waits.push(idle);
        await this.input.waitReadable(idle.signal);
      }
      r = await this.input.readLine(ENVELOPE_LINE_LIMIT, command.signal);
    } catch (e) {
      const ended = parents.find((s) => s.aborted)?.reason as unknown;
      throw e instanceof SessionEnd ? e : ended instanceof SessionEnd ? ended : new SessionEnd('timeout');
    } finally {
      for (const w of waits) w.clear();
      this.idleRead = null;
    }
    if (r.kind === 'eof') throw new SessionEnd('client-closed');
    if (r.kind === 'bare-newline') throw new SessionEnd('bare-newline');
    if (!this.commandRate.take()) throw new SessionEnd('command-rate');
    if (r.kind === 'too-long') return this.fail(R.lineTooLong());
    let text: string;
    try {
      text = utf8.decode(r.line);
    } catch {
      return this.fail(R.unrecognized());
    }
    const parsed = parseCommand(text);
    if (!parsed.ok) return this.fail(parsed.reply);
    const c = parsed.command;
    if (c.verb !== 'MAIL' && c.verb !== 'RCPT' && c.verb !== 'AUTH' && r.line.length + 2 > COMMAND_LINE_LIMIT) return this.fail(R.lineTooLong());
    await this.dispatch(c);
  }

  private async dispatch(c: Command): Promise<void> {
    switch (c.verb) {
      case 'EHLO':
      case 'HELO':
        return this.onHelo(c.name, c.verb === 'EHLO');
      case 'MAIL':
        return this.onMail(c);
      case 'RCPT':
        return this.onRcpt(c);
      case 'DATA':
        return this.onData();
      case 'BDAT':
        return this.onBdat(c.size, c.last);
      case 'RSET':
        await this.resetTransaction();
        return this.send(R.resetOk());
      case 'NOOP':
        return this.send(R.ok());
      case 'HELP':
        return this.send(R.help());
      case 'VRFY':
        return this.send(R.cannotVerify());
      case 'EXPN':
        return this.fail(R.notImplemented());
      case 'QUIT':
        await this.send(R.closing(this.options.hostname));
        throw new SessionEnd('quit');
      case 'STARTTLS':
        return this.onStartTls();
      case 'AUTH':
        return this.onAuth(c);
    }
  }

  private async onHelo(name: string, extended: boolean): Promise<void> {
    await this.resetTransaction();
    const r = await this.call(() => this.handler.helo(name, extended));
    if (r && !R.isPositive(r)) return this.fail(r);
    this.helo = { name, extended };
    await this.send(
      extended
        ? R.ehloOk(this.options.hostname, ehloKeywords(this.options, this.tlsInfo !== null))
        : R.heloOk(this.options.hostname),
    );
  }

  private async onMail(c: Extract<Command, { verb: 'MAIL' }>): Promise<void> {
    if (!this.helo) return this.fail(R.badSequence('Error: send HELO/EHLO first'));
    if (this.tx) return this.fail(R.badSequence('Error: nested MAIL command'));
    // RFC 3207 §4: a listener that requires TLS refuses mail before it (submission, RFC 6409 §4.3).
    if (this.options.requireTls && !this.tlsInfo) return this.fail(R.tlsRequired());
    const p = c.params;
    // RFC 4954 §5: AUTH= only where AUTH is offered.
    if (p.auth !== undefined && !(this.options.auth && this.tlsInfo && this.handler.authenticate)) return this.fail(R.parameterNotImplemented('AUTH'));
    const usesExtensions = p.size !== null || p.body !== null || p.smtputf8 || p.ret !== null || p.envid !== null;
    if (usesExtensions && !this.helo.extended) return this.fail(R.parameterNotImplemented('ESMTP'));
    // RFC 1870 §6.2: refuse at MAIL when the declared size is already too big.
    if (p.size !== null && p.size > this.options.limits.maxMessageSize) return this.fail(R.sizeExceeded());
    const r = await this.call(() => this.handler.mailFrom(c.from, p));
    if (r && !R.isPositive(r)) return this.fail(r);
    this.tx = { from: c.from, mailParams: p, recipients: [], bdat: null };
    await this.send(r ?? R.senderOk());
  }

  private async onRcpt(c: Extract<Command, { verb: 'RCPT' }>): Promise<void> {
    const tx = this.tx;
    if (!tx) return this.fail(R.badSequence('Error: need MAIL command'));
    if (tx.bdat) return this.fail(R.badSequence());
    if (c.to.utf8 && !tx.mailParams.smtputf8) return this.fail(R.nonAsciiNeedsSmtpUtf8());
    if ((c.params.notify !== null || c.params.orcpt !== null) && !this.helo?.extended) return this.fail(R.parameterNotImplemented('ESMTP'));
    // RFC 5321 §4.5.3.1.8: 452 for too many recipients; the client retries them later.
    if (tx.recipients.length >= this.options.limits.maxRecipients) return this.send(R.tooManyRecipients());
    const r = await this.call(() => this.handler.rcptTo(c.to, c.params, this.snapshot(tx)));
    if (r && !R.isPositive(r)) return this.fail(r);
    tx.recipients.push({ mailbox: c.to, params: c.params });
    await this.send(r ?? R.recipientOk());
  }

  private async onData(): Promise<void> {
    const tx = this.tx;
    if (!tx) return this.fail(R.badSequence('Error: need MAIL command'));
    if (tx.bdat) return this.fail(R.badSequence('Error: DATA after BDAT'));
    if (tx.recipients.length === 0) return this.fail(R.noValidRecipients());
    const opened = await this.call(() => this.handler.openMessage(this.snapshot(tx)));
    if ('code' in opened) return this.fail(opened);
    await this.send(R.startMailInput());
    const decoder = new BodyDecoder(this.bodyLimits(), true);
    const data = deadline(this.options.limits.dataTimeoutMs, [this.lifetime.signal]);
    try {
      for (;;) {
        const chunk = await this.readData(READ_CHUNK, data.signal);
        const step = decoder.push(chunk);
        if (decoder.failure === 'bare-newline') throw new SessionEnd('bare-newline');
        if (step.out.length > 0) await opened.write(step.out);
        if (step.done) {
          if (step.rest) this.input.unshift(step.rest);
          break;
        }
      }
    } catch (e) {
      await opened.abort().catch(() => undefined);
      await this.resetTransaction();
      throw e;
    } finally {
      data.clear();
    }
    await this.finishMessage(opened, decoder);
  }

  private async onBdat(size: number, last: boolean): Promise<void> {
    const tx = this.tx;
    // RFC 3030 §2: the chunk's octets follow the command whatever we answer, so they are always read.
    const refuse = !tx ? R.badSequence('Error: need MAIL command')
      : tx.recipients.length === 0 ? R.noValidRecipients()
      : tx.bdat?.failed ? R.badSequence('Error: transaction failed, send RSET')
      : null;
    if (refuse || !tx) {
      await this.skipOctets(size);
      return this.fail(refuse ?? R.badSequence());
    }
    if (!tx.bdat) {
      const opened = await this.call(() => this.handler.openMessage(this.snapshot(tx)));
      const sink = 'code' in opened ? null : opened;
      tx.bdat = { sink, decoder: new BodyDecoder(this.bodyLimits(), false), failed: sink ? null : (opened as SmtpReply) };
    }
    const bdat = tx.bdat;
    const chunkDeadline = deadline(this.options.limits.dataTimeoutMs, [this.lifetime.signal]);
    let left = size;
    try {
      while (left > 0) {
        const chunk = await this.readData(Math.min(left, READ_CHUNK), chunkDeadline.signal);
        left -= chunk.length;
        const step = bdat.decoder.push(chunk);
        if (bdat.decoder.failure === 'bare-newline') throw new SessionEnd('bare-newline');
        if (bdat.sink && !bdat.failed && step.out.length > 0) await bdat.sink.write(step.out);
      }
    } catch (e) {
      await bdat.sink?.abort().catch(() => undefined);
      await this.resetTransaction();
      throw e;
    } finally {
      chunkDeadline.clear();
    }
    if (bdat.failed) return this.fail(bdat.failed);
    if (!last) {
      const problem = bdat.decoder.failure;
      if (problem === 'too-big' || problem === 'header-too-big') {
        bdat.failed = problemReply(problem);
        await bdat.sink?.abort(bdat.failed);
        return this.fail(bdat.failed);
      }
      return this.send(R.chunkReceived(size));
    }
    if (!bdat.sink) return this.fail(R.badSequence());
    await this.finishMessage(bdat.sink, bdat.decoder);
  }

  private async finishMessage(sink: MessageSink, decoder: BodyDecoder): Promise<void> {
    const problem = decoder.failure;
    let reply: SmtpReply;
    if (problem) {
      reply = problemReply(problem);
      await sink.abort(reply);
    } else {
      reply = await this.call(() => sink.finish({ size: decoder.size, eightBit: decoder.has8bit }));
    }
    await this.resetTransaction(false);
    if (R.isPositive(reply)) {
      // As Postfix: errors count "without delivering mail"; an accepted message starts the count anew.
      this.errors = 0;
      await this.send(reply);
    } else await this.fail(reply);
  }

  private async onStartTls(): Promise<void> {
    const context = this.options.tls;
    if (!context) return this.fail(R.notImplemented());
    if (this.tlsInfo) return this.fail(R.tlsAlreadyActive());
    if (this.tx) return this.fail(R.badSequence());
    await this.send(R.readyForTls());
    this.out.flush();
    // RFC 3207 §4.2 / CVE-2011-0411: anything pipelined after STARTTLS was sent in the clear and is dropped.
    this.input.discard();
    await this.startTls(context, null);
    // Everything learnt before the handshake is forgotten (RFC 3207 §4.2).
    this.helo = null;
    await this.resetTransaction();
  }

  /** The handshake, on STARTTLS or (implicit TLS) before the greeting; `early`: octets already read that belong to it. */
  private async startTls(context: SecureContext, early: Buffer | null): Promise<void> {
    this.input.detach();
    let secure: TLSSocket;
    try {
      secure = await serverHandshake(this.out.stream, context, this.options.limits.commandTimeoutMs, early);
    } catch (e) {
      // A failed handshake ends this session only; the socket is gone, so no plaintext farewell follows.
      const f = e instanceof HandshakeFailure ? e : new HandshakeFailure('handshake failed', 'error');
      this.hooks.onTlsFailed?.(this.info, f.reason);
      throw new SessionEnd(f.kind === 'timeout' ? 'timeout' : f.kind === 'closed' ? 'client-closed' : 'error');
    }
    this.out.stream = secure;
    this.input.attach(secure);
    this.tlsInfo = { protocol: secure.getProtocol() ?? 'unknown', cipher: secure.getCipher().name };
    this.handler.tlsStarted(this.tlsInfo);
  }

  /**
   * SMTP AUTH (RFC 4954 §4): only on a listener that offers it, after EHLO, under TLS, outside a
   * transaction and once. The engine decodes the SASL exchange (sasl.ts) and hands the credentials
   * to the handler; every refusal counts as an error (tarpit, maxErrors), so password guessing
   * slows down and ends like any other error flood.
   */
  private async onAuth(c: Extract<Command, { verb: 'AUTH' }>): Promise<void> {
    const auth = this.options.auth;
    const authenticate = this.handler.authenticate?.bind(this.handler);
    if (!auth || auth.mechanisms.length === 0 || !authenticate) return this.fail(R.notImplemented());
    if (!this.helo?.extended) return this.fail(R.badSequence('Error: send EHLO first'));
    if (!this.tlsInfo) return this.fail(R.authNeedsEncryption());
    if (this.authenticated) return this.fail(R.authAlreadyDone());
    if (this.tx) return this.fail(R.badSequence('Error: AUTH not allowed during a mail transaction'));
    const mechanism = AUTH_MECHANISMS.find((m) => m === c.mechanism && auth.mechanisms.includes(m));
    if (!mechanism) return this.fail(R.authUnknownMechanism());
    const credentials = mechanism === 'PLAIN' ? await this.saslPlain(c.initial) : await this.saslLogin(c.initial);
    if ('code' in credentials) return this.fail(credentials);
    const r = await this.call(() => authenticate(mechanism, credentials));
    if (!R.isPositive(r)) return this.fail(r);
    this.authenticated = true;
    await this.send(r);
  }

  private async saslPlain(initial: string | null): Promise<AuthCredentials | SmtpReply> {
    // RFC 4954 §4: "=" is an empty initial response; none at all: ask with an empty challenge.
    const response = initial === null ? await this.saslResponse('') : initial === '=' ? '' : initial;
    if (typeof response !== 'string') return response;
    const text = decodeBase64Text(response);
    const creds = text === null ? null : parsePlain(text);
    return creds ?? R.authBadResponse();
  }

  private async saslLogin(initial: string | null): Promise<AuthCredentials | SmtpReply> {
    const first = initial === null ? await this.saslResponse(LOGIN_USERNAME_PROMPT) : initial;
    if (typeof first !== 'string') return first;
    const username = decodeBase64Text(first);
    if (username === null || username === '' || username.length > 255) return R.authBadResponse();
    const second = await this.saslResponse(LOGIN_PASSWORD_PROMPT);
    if (typeof second !== 'string') return second;
    const password = decodeBase64Text(second);
    if (password === null || password === '' || password.length > 255) return R.authBadResponse();
    return { authzid: '', username, password };
  }

  /** Sends a 334 challenge and reads the client's line: its text, or the reply that ends the exchange. */
  private async saslResponse(challenge: string): Promise<string | SmtpReply> {
    await this.send(R.authChallenge(challenge));
    this.out.flush();
    const d = deadline(this.options.limits.commandTimeoutMs, [this.lifetime.signal]);
    let r;
    try {
      r = await this.input.readLine(AUTH_LINE_LIMIT, d.signal);
    } catch (e) {
      throw e instanceof SessionEnd ? e : this.lifetime.signal.reason instanceof SessionEnd ? this.lifetime.signal.reason : new SessionEnd('timeout');
    } finally {
      d.clear();
    }
    if (r.kind === 'eof') throw new SessionEnd('client-closed');
    if (r.kind === 'bare-newline') throw new SessionEnd('bare-newline');
    if (r.kind === 'too-long') return R.lineTooLong();
    const text = r.line.toString('latin1');
    return text === '*' ? R.authCancelled() : text;
  }

  private async readData(max: number, signal: AbortSignal): Promise<Buffer> {
    if (this.input.pending === 0) this.out.flush();
    let chunk: Buffer | null;
    try {
      chunk = await this.input.readSome(max, signal);
    } catch {
      throw signal.reason instanceof SessionEnd ? signal.reason : this.lifetime.signal.reason instanceof SessionEnd ? this.lifetime.signal.reason : new SessionEnd('timeout');
    }
    if (!chunk) throw new SessionEnd('client-closed');
    return chunk;
  }

  private async skipOctets(n: number): Promise<void> {
    const d = deadline(this.options.limits.dataTimeoutMs, [this.lifetime.signal]);
    try {
      for (let left = n; left > 0; ) left -= (await this.readData(Math.min(left, READ_CHUNK), d.signal)).length;
    } finally {
      d.clear();
    }
  }

  private bodyLimits() {
    const l = this.options.limits;
    return { maxMessageSize: l.maxMessageSize, maxHeaderSize: l.maxHeaderSize, maxLineLength: TEXT_LINE_LIMIT };
  }

  private snapshot(tx: OpenTransaction): Transaction {
    return {
      helo: this.helo?.name ?? '',
      extended: this.helo?.extended ?? false,
      tls: this.tlsInfo,
      from: tx.from,
      mailParams: tx.mailParams,
      recipients: [...tx.recipients],
    };
  }

  private async resetTransaction(abortSink = true): Promise<void> {
    const tx = this.tx;
    this.tx = null;
    if (tx?.bdat?.sink && abortSink && !tx.bdat.failed) await tx.bdat.sink.abort().catch(() => undefined);
    if (tx) this.handler.reset();
  }

  /** Runs a handler call; an exception becomes 451 4.3.0 with a reference (CONVENTIONS.md 5). */
  private async call<T>(fn: () => Promise<T>): Promise<T | SmtpReply> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof SessionEnd) throw e;
      const ref = this.reference();
      this.hooks.onInternalError(ref, e);
      return R.temporaryFailure(ref);
    }
  }

  private reference(): string {
    return `${this.info.id}.${++this.errorRefs}`;
  }

  /** Sends an error reply (4xx/5xx) and counts it: the next reply is tarpitted; too many and the session ends (421). */
  private async fail(reply: SmtpReply): Promise<void> {
    await this.send(reply);
    if (++this.errors >= this.options.limits.maxErrors) throw new SessionEnd('too-many-errors');
    this.delayNextMs = tarpitDelay(this.errors, this.options.limits.tarpit);
  }

  private async send(reply: SmtpReply): Promise<void> {
    if (!this.out.usable) throw new SessionEnd('client-closed');
    await this.out.write(formatFor(reply, this.helo?.extended === true));
  }

  private close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.input.detach();
    this.out.end();
    if (this.tx?.bdat?.sink) void this.tx.bdat.sink.abort().catch(() => undefined);
    this.handler.close(reason);
  }
}

function formatFor(reply: SmtpReply, withStatus: boolean): string {
  return R.formatReply(reply, withStatus);
}

function problemReply(p: BodyProblem): SmtpReply {
  switch (p) {
    case 'bare-newline':
      return R.bareNewline();
    case 'too-big':
      return R.sizeExceeded();
    case 'header-too-big':
      return R.headerTooBig();
    case 'line-too-long':
      return R.textLineTooLong();
    case 'nul':
      return R.nulInContent();
  }
}
