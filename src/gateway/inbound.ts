/**
 * The inbound side of the gateway: one SessionHandler per SMTP connection, joining the protocol
 * engine to the pipeline and the spool. Each phase runs its checks; at end of data the content
 * checks run before the final reply (DESIGN.md §2: before-queue filtering, so spam is refused in the
 * conversation and never bounced). "250" is sent only after the spool writer has fsynced and renamed
 * the message (DESIGN.md §5); a full disk answers 452 4.3.1, nothing is lost. Replies come from
 * factories only; a downstream's words never reach the client.
 */
import type { Logger } from '../platform/logger.js';
import type { Clock } from '../platform/clock.js';
import { messageView, type MimeParse } from '../pipeline/message.js';
import { limitsForScan, mimeParser } from '../scan/mime/index.js';
import type { Explanation, Policy, ScoredFinding } from '../pipeline/policy.js';
import { decisionReply } from '../pipeline/replies.js';
import { PipelineSession, type CheckEntry, type PhaseOutcome } from '../pipeline/runner.js';
import type { Phase } from '../pipeline/types.js';
import type { Spool, SpoolWriter, StoredMessage } from '../queue/spool.js';
import { SpoolFull, SpoolError } from '../queue/spool.js';
import { newQueueId } from '../queue/queue-id.js';
import type { ContentEdit, Envelope } from '../queue/record.js';
import type { OutboundContentInput } from '../outbound/content.js';
import type { PasswordChecker } from '../outbound/passwords.js';
import { formatMailbox, type Domain, type Mailbox, type ReversePath } from '../smtp/address.js';
import type { MailParams, RcptParams } from '../smtp/params.js';
import * as R from '../smtp/reply.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { AuthCredentials, AuthMechanism, CloseReason, ConnectionInfo, ContentInfo, EarlyTalk, GreetingPlan, MessageSink, SessionHandler, TlsInfo, Transaction } from '../smtp/server/handler.js';
import { authResultsField, contentEdits, verdictFields, type VerdictHeaderNames } from './added-headers.js';
import { TransactionTrail, type TransactionJournal } from './journal.js';
import { receivedHeader } from './received.js';

/**
 * The outbound relay as the handler sees it (src/outbound, wired in main.ts): who may relay, how
 * AUTH credentials are checked, and what an outbound message gets before it is spooled.
 */
export interface OutboundPort {
  /** The client may relay without AUTH (outbound.trustedNetworks). */
  trusted(ip: string): boolean;
  /** Checks SMTP AUTH credentials; null: no credential store configured. */
  readonly passwords: PasswordChecker | null;
  /** This listener is for submission: MAIL needs AUTH (or a trusted client), else 530 5.7.0. */
  readonly requireAuth: boolean;
  /** A submission or implicit-TLS listener: the pipeline skips outbound.skipChecks from the start. */
  readonly submissionListener: boolean;
  /** The header lines and edits of an outbound message (reduced trace, LAN Received: dropped, DKIM). */
  prepare(input: OutboundContentInput): Promise<{ readonly prepend: string; readonly edits: ContentEdit[] }>;
  /** An outbound message was spooled: remember whom the organization writes to. */
  learn(recipients: readonly Mailbox[]): void;
}

/** Where quarantined messages go (src/quarantine); the writer's content becomes a quarantine record. */
export interface QuarantinePort {
  keep(writer: SpoolWriter, envelope: Envelope, eightBit: boolean): Promise<void>;
}

export interface InboundDeps {
  readonly hostname: string;
  readonly checks: readonly CheckEntry[];
  readonly policy: Policy;
  readonly isLocal: (d: Domain) => boolean;
  readonly spool: Spool;
  readonly quarantine: QuarantinePort;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Free space the spool must keep beyond the declared message size. */
  readonly spoolReserve: number;
  readonly phaseTimeout: number;
  readonly scanTimeout: number;
  readonly scanLimit: number;
  readonly headerNames: VerdictHeaderNames;
  readonly accepted: (m: StoredMessage) => void;
  /** Told the outcome of every transaction (the message log, the metrics). */
  readonly journal: TransactionJournal;
  readonly onFailOpen?: (check: string, phase: Phase, error: unknown) => void;
  readonly outbound?: OutboundPort;
  readonly outboundSkips?: ReadonlySet<string>;
}

function symbolsOf(findings: readonly ScoredFinding[]): string[] {
  return findings.map((f) => (f.observed ? `${f.symbol}(observed)` : f.symbol));
}

export class InboundSession implements SessionHandler {
  private readonly pipeline: PipelineSession;
  private readonly log: Logger;
  private readonly trail: TransactionTrail;
  private tls: TlsInfo | null = null;
  private messages = 0;
  private pendingConnect: Promise<PhaseOutcome> | null = null;
  /** One bounded MIME parse per message, shared by every content check (view.mime()). */
  private readonly parseMime: MimeParse;

  constructor(
    private readonly conn: ConnectionInfo,
    private readonly deps: InboundDeps,
  ) {
    this.pipeline = new PipelineSession(
      { checks: deps.checks, policy: deps.policy, isLocal: deps.isLocal, ...(deps.onFailOpen ? { onFailOpen: deps.onFailOpen } : {}), ...(deps.outboundSkips ? { outboundSkips: deps.outboundSkips } : {}) },
      { id: conn.id, clientIp: conn.remoteAddress, clientPort: conn.remotePort, localIp: conn.localAddress, localPort: conn.localPort },
    );
    this.log = deps.logger.child({ session: conn.id, client: conn.remoteAddress });
    this.parseMime = mimeParser(limitsForScan(deps.scanLimit));
    this.trail = new TransactionTrail(conn, deps.journal, deps.clock, this.pipeline.facts);
  }

  private deadline(): AbortSignal {
    return AbortSignal.timeout(this.deps.phaseTimeout);
  }

  /** A phase outcome as the engine's reply (null: go on), logged when it refuses. */
  private answer(o: PhaseOutcome, phase: Phase, fields: Record<string, unknown> = {}): SmtpReply | null {
    if (o.kind === 'continue') {
      this.trail.outcome(phase, o, null, this.pipeline.transactionProfile);
      return null;
    }
    const reply = decisionReply(this.deps.policy, o.kind, o.because, phase);
    this.trail.outcome(phase, o, reply, this.pipeline.transactionProfile);
    const event = o.kind === 'reject' ? 'message.rejected' : 'message.deferred';
    this.log.info(event, { phase, ...fields, reply: R.replyToString(reply), because: o.because.symbol, detail: o.because.detail, symbols: symbolsOf(o.findings) });
    return reply;
  }

  async connect(): Promise<SmtpReply | GreetingPlan | null> {
    this.log.info('session.open', {
      port: this.conn.remotePort,
      local: `${this.conn.localAddress}:${this.conn.localPort}`,
      ...(this.conn.proxiedBy ? { proxiedBy: this.conn.proxiedBy } : {}),
    });
    if (this.deps.outbound?.trusted(this.conn.remoteAddress)) this.pipeline.facts.outbound = { by: 'network', account: null };
    if (this.deps.outbound?.submissionListener) this.pipeline.facts.submission = true;
    const wait = await this.pipeline.greetWait(this.deadline());
    const checks = this.pipeline.connect(this.deadline());
    if (wait <= 0) return this.answer(await checks, 'connect');
    // The connect checks (DNS lists...) run during the pregreet wait, as postscreen does.
    this.pendingConnect = checks;
    return { pregreetWaitMs: wait };
  }

  async greeted(early: EarlyTalk): Promise<SmtpReply | null> {
    const connect = this.pendingConnect;
    this.pendingConnect = null;
    const first = connect ? this.answer(await connect, 'connect') : null;
    if (first) return first;
    return this.answer(await this.pipeline.greeted(early, this.deadline()), 'connect', { talkedFirst: early.talkedFirst });
  }

  async helo(name: string): Promise<SmtpReply | null> {
    this.trail.heloName(name);
    return this.answer(await this.pipeline.helo(name, this.deadline()), 'helo', { helo: name });
  }

  /** SMTP AUTH (RFC 4954): the password is checked by the outbound port and never logged. */
  async authenticate(mechanism: AuthMechanism, c: AuthCredentials): Promise<SmtpReply> {
    const passwords = this.deps.outbound?.passwords ?? null;
    // RFC 4616 §2: acting as another identity (authzid) is not offered.
    const verdict = !passwords ? { kind: 'unavailable' as const, reason: 'no credential store' } : c.authzid !== '' && c.authzid !== c.username ? { kind: 'invalid' as const } : await passwords.verify(c.username, c.password);
    const reply = verdict.kind === 'ok' ? R.authSucceeded() : verdict.kind === 'invalid' ? R.authFailed() : R.authTemporaryFailure();
    const fields = { mechanism, user: c.username, reply: R.replyToString(reply), ...(verdict.kind === 'unavailable' ? { why: verdict.reason } : {}) };
    if (verdict.kind === 'ok') {
      this.pipeline.facts.outbound = { by: 'auth', account: c.username, ...(verdict.addresses ? { addresses: verdict.addresses } : {}) };
      this.log.info('session.auth', fields);
    } else this.log.warn('session.auth-failed', fields);
    return reply;
  }

  async mailFrom(from: ReversePath, params: MailParams): Promise<SmtpReply | null> {
    const sender = from ? formatMailbox(from) : '';
    this.trail.mail(sender);
    if (this.deps.outbound?.requireAuth && !this.pipeline.facts.outbound) {
      const reply = R.authRequired();
      this.log.info('message.rejected', { phase: 'mailFrom', from: sender, reply: R.replyToString(reply), why: 'submission listener without AUTH' });
      this.trail.refused('mailFrom', reply, 'submission listener without AUTH');
      return reply;
    }
    const free = await this.deps.spool.freeSpace(this.deps.clock.now()).catch(() => 0);
    if (free < (params.size ?? 0) + this.deps.spoolReserve) {
      this.log.warn('message.deferred', { from: sender, reply: '452 4.3.1', why: 'spool space low', free });
      this.trail.refused('mailFrom', R.insufficientStorage(), 'spool space low');
      return R.insufficientStorage();
    }
    return this.answer(await this.pipeline.mailFrom(from, params, this.deadline()), 'mailFrom', { from: sender });
  }

  async rcptTo(to: Mailbox, _params: RcptParams, tx: Transaction): Promise<SmtpReply | null> {
    this.trail.rcpt(formatMailbox(to));
    const o = await this.pipeline.rcptTo(to, tx.from, this.deadline());
    const fields = { from: tx.from ? formatMailbox(tx.from) : '', to: formatMailbox(to) };
    if (o.kind === 'other-profile') {
      const reply = R.otherPolicyRecipient();
      this.log.info('message.deferred', { phase: 'rcptTo', ...fields, reply: R.replyToString(reply), why: 'recipient has another policy profile' });
      this.trail.refused('rcptTo', reply, 'recipient has another policy profile');
      return reply;
    }
    return this.answer(o, 'rcptTo', fields);
  }

  async openMessage(tx: Transaction): Promise<MessageSink | SmtpReply> {
    const now = this.deps.clock.now();
    const id = newQueueId(now);
    const writer = this.deps.spool.createWriter(id);
    this.trail.data(id);
    return {
      write: (chunks) => writer.write(chunks),
      finish: (info: ContentInfo) => this.finish(id, now, tx, writer, info),
      abort: (refusal) => {
        this.trail.aborted(refusal);
        return writer.abort();
      },
    };
  }

  private async finish(id: string, receivedAt: number, tx: Transaction, writer: SpoolWriter, info: ContentInfo): Promise<SmtpReply> {
    const log = this.log.child({ queueId: id });
    const from = tx.from ? formatMailbox(tx.from) : '';
    const to = tx.recipients.map((r) => formatMailbox(r.mailbox));
    const first = tx.recipients.length === 1 ? tx.recipients[0] : undefined;
    const trace = {
      helo: tx.helo,
      clientIp: this.conn.remoteAddress,
      hostname: this.deps.hostname,
      extended: tx.extended,
      tls: tx.tls !== null,
      utf8: tx.mailParams.smtputf8,
      queueId: id,
      singleRecipient: first ? formatMailbox(first.mailbox) : null,
      date: new Date(receivedAt),
    };
    const received = receivedHeader(trace);
    let verdict: Explanation;
    let view;
    let scanMs: number;
    try {
      view = messageView(await writer.read(this.deps.scanLimit), info.size, () => writer.stream(), this.parseMime);
      this.trail.content(info.size, view);
      const started = performance.now();
      const data = { from: tx.from, recipients: tx.recipients.map((r) => r.mailbox), queueId: id, received };
      verdict = await this.pipeline.data(view, data, AbortSignal.timeout(this.deps.scanTimeout));
      scanMs = performance.now() - started;
    } catch (e) {
      await writer.abort();
      const reply = R.temporaryFailure(`${this.conn.id}.${id}`);
      log.error('message.deferred', { from, to, reply: R.replyToString(reply), error: e instanceof Error ? e.message : String(e) });
      this.trail.finished(reply, null, `scan failed: ${e instanceof Error ? e.message : String(e)}`, null);
      return reply;
    }
    const fields = { from, to, size: info.size, score: verdict.score, action: verdict.action, reason: verdict.reason, symbols: symbolsOf(verdict.findings) };
    if (verdict.action === 'reject' || verdict.action === 'defer') {
      await writer.abort();
      const reply =
        verdict.action === 'reject' && !verdict.decidedBy
          ? this.deps.policy.softBounce ? R.softened(R.messageRejected(id)) : R.messageRejected(id)
          : decisionReply(this.deps.policy, verdict.action, verdict.decidedBy, 'data');
      const by = verdict.decidedBy ? { because: verdict.decidedBy.symbol, detail: verdict.decidedBy.detail } : {};
      log.info(verdict.action === 'reject' ? 'message.rejected' : 'message.deferred', { ...fields, ...by, reply: R.replyToString(reply) });
      this.trail.finished(reply, verdict, null, scanMs);
      return reply;
    }
    const profile = this.pipeline.transactionProfile;
    const names = this.deps.headerNames;
    const outbound = this.pipeline.facts.outbound;
    const own = contentEdits(view, this.deps.hostname, names, verdict.action === 'tag' && !outbound ? profile.subjectTag : null);
    let prepend: string;
    let edits: ContentEdit[];
    if (outbound && this.deps.outbound) {
      // Outbound: no verdict fields toward the internet; our trace without the LAN; DKIM over the final form.
      try {
        ({ prepend, edits } = await this.deps.outbound.prepare({ view, trace, authenticated: outbound.by === 'auth', edits: own.edits, content: () => writer.stream() }));
      } catch (e) {
        await writer.abort();
        const reply = R.temporaryFailure(`${this.conn.id}.${id}`);
        log.error('message.deferred', { ...fields, reply: R.replyToString(reply), error: e instanceof Error ? e.message : String(e) });
        return reply;
      }
    } else {
      prepend = received + authResultsField(this.deps.hostname, this.pipeline.transactionFacts.authResults) + verdictFields(names, verdict) + own.extra;
      edits = own.edits;
    }
    const envelope: Envelope = {
      v: 2,
      id,
      receivedAt,
      from,
      smtputf8: tx.mailParams.smtputf8,
      body: tx.mailParams.body,
      ret: tx.mailParams.ret,
      envid: tx.mailParams.envid,
      client: { ip: this.conn.remoteAddress, helo: tx.helo, tls: tx.tls !== null },
      recipients: tx.recipients.map((r) => ({ address: formatMailbox(r.mailbox), domain: r.mailbox.domain, notify: r.params.notify, orcpt: r.params.orcpt })),
      prepend,
      edits,
      ...(outbound ? { outbound: { account: outbound.account } } : {}),
      verdict: { action: verdict.action, score: verdict.score, symbols: verdict.findings.filter((f) => !f.observed).map((f) => ({ name: f.symbol, score: f.score })) },
    };
    try {
      if (verdict.action === 'quarantine') {
        await this.deps.quarantine.keep(writer, envelope, info.eightBit);
        this.messages++;
        const reply = R.queued(id);
        log.info('message.quarantined', { ...fields, reply: R.replyToString(reply) });
        // Spam leaving the organization means a compromised account or host: tell the admin.
        if (outbound) log.warn('outbound.alert', { ...fields, account: outbound.account, client: this.conn.remoteAddress, why: 'outbound message quarantined' });
        this.trail.finished(reply, verdict, null, scanMs);
        return reply;
      }
      const stored = await writer.finish(envelope, info.eightBit);
      this.messages++;
      const reply = R.queued(id);
      log.info('message.accepted', { ...fields, reply: R.replyToString(reply), ...(outbound ? { outbound: true, account: outbound.account } : {}) });
      this.trail.finished(reply, verdict, null, scanMs);
      this.deps.accepted(stored);
      if (outbound) this.deps.outbound?.learn(tx.recipients.map((r) => r.mailbox));
      return reply;
    } catch (e) {
      const reply = e instanceof SpoolFull ? R.insufficientStorage() : R.temporaryFailure(`${this.conn.id}.${id}`);
      log.error('message.deferred', { ...fields, reply: R.replyToString(reply), error: e instanceof SpoolError ? e.code : String(e) });
      this.trail.finished(reply, verdict, `spool: ${e instanceof SpoolError ? e.code : 'write failed'}`, scanMs);
      return reply;
    }
  }

  reset(): void {
    this.trail.reset();
    this.pipeline.reset();
  }

  tlsStarted(info: TlsInfo): void {
    this.tls = info;
    this.trail.tlsStarted(info);
    this.log.debug('session.open', { tls: info.protocol, cipher: info.cipher });
  }

  close(reason: CloseReason): void {
    this.trail.close();
    this.log.info('session.close', { reason, messages: this.messages, tls: this.tls?.protocol ?? null });
  }
}
