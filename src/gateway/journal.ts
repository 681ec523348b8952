/**
 * The story of each SMTP transaction, as the inbound session lived it: the TransactionTrail follows
 * one connection's phases (HELO, MAIL, each RCPT with its reply, end of data with the verdict) and
 * hands one TransactionEntry per transaction to the TransactionJournal port — the message log and
 * the metrics listen there (wired in main.ts). A connection refused before MAIL FROM (at connect or
 * HELO) is an entry without a sender. Entries get the queue id once DATA began, "SESSION.N" before.
 * Trusts the session's values; bounds the texts that came from outside (details, HELO names).
 * Never throws into the SMTP path and never waits: the journal only buffers.
 * What the engine refuses by itself before asking the session (a MAIL SIZE over the limit, a RCPT
 * beyond maxRecipients, DATA without a recipient) is not seen here.
 */
import type { SessionFacts } from '../pipeline/types.js';
import type { Explanation, Profile, ScoredFinding } from '../pipeline/policy.js';
import type { PhaseOutcome } from '../pipeline/runner.js';
import type { MessageView } from '../pipeline/message.js';
import type { Clock } from '../platform/clock.js';
import * as R from '../smtp/reply.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { ConnectionInfo, TlsInfo } from '../smtp/server/handler.js';
import type { LoggedAction, LoggedFinding, LoggedPhase, LoggedRecipient, LoggedReply, LoggedVerdict, TransactionEntry } from '../store/message-log.js';
import { bounded, contentSummary } from './summary.js';

export interface TransactionJournal {
  /** One transaction is over. Must not throw or wait. */
  transaction(entry: TransactionEntry): void;
}

const DETAIL_LIMIT = 500;
const NAME_LIMIT = 255;

function loggedReply(r: SmtpReply): LoggedReply {
  return { code: r.code, status: r.status, text: r.lines.join(' ') };
}

function loggedFinding(f: ScoredFinding): LoggedFinding {
  return { symbol: f.symbol, check: f.check, phase: f.phase, score: f.score, detail: bounded(f.detail, DETAIL_LIMIT), description: f.description, observed: f.observed };
}

function actionOf(reply: SmtpReply, accepted: LoggedAction): LoggedAction {
  return R.isPositive(reply) ? accepted : R.isTransient(reply) ? 'defer' : 'reject';
}

interface Refusal {
  readonly phase: LoggedPhase;
  readonly reply: SmtpReply;
  readonly reason: string;
}

interface OpenTransaction {
  readonly time: number;
  readonly sender: string;
  queueId: string | null;
  mailReply: LoggedReply | null;
  pendingRecipient: string | null;
  readonly recipients: LoggedRecipient[];
  readonly findings: LoggedFinding[];
  refusal: Refusal | null;
  content: { size: number; subject: string | null; messageId: string | null } | null;
}

export class TransactionTrail {
  private seq = 0;
  private helo: string | null = null;
  private tls: string | null = null;
  private sessionFindings: LoggedFinding[] = [];
  private tx: OpenTransaction | null = null;
  private profile: { id: string; thresholds: LoggedVerdict['thresholds'] } = { id: 'default', thresholds: { tag: null, quarantine: null, reject: null } };

  constructor(
    private readonly conn: ConnectionInfo,
    private readonly journal: TransactionJournal,
    private readonly clock: Clock,
    /** The session's facts (the rDNS check's PTR name), read when an entry is made. */
    private readonly facts: SessionFacts,
  ) {}

  heloName(name: string): void {
    this.helo = bounded(name, NAME_LIMIT);
    // A new HELO replaces what the previous one found (as the pipeline does).
    this.sessionFindings = this.sessionFindings.filter((f) => f.phase !== 'helo');
  }

  tlsStarted(info: TlsInfo): void {
    this.tls = `${info.protocol} ${info.cipher}`;
  }

  mail(sender: string): void {
    this.end();
    this.tx = { time: this.clock.now(), sender, queueId: null, mailReply: null, pendingRecipient: null, recipients: [], findings: [], refusal: null, content: null };
  }

  rcpt(address: string): void {
    if (this.tx) this.tx.pendingRecipient = address;
  }

  /** A phase's outcome and the reply it makes (null: the command is accepted). */
  outcome(phase: LoggedPhase, o: PhaseOutcome, reply: SmtpReply | null, profile: Profile): void {
    this.profile = { id: profile.id, thresholds: profile.thresholds };
    const found = o.findings.map(loggedFinding);
    const because = o.kind === 'continue' ? null : o.because;
    const reason = because ? `symbol ${because.symbol}: ${o.kind}` : '';
    if (phase === 'connect' || phase === 'helo') {
      this.sessionFindings.push(...found);
      if (reply) this.emitWithoutSender(phase, reply, reason);
      return;
    }
    const tx = this.tx;
    if (!tx) return;
    for (const f of found) if (!tx.findings.some((g) => g.symbol === f.symbol && g.phase === f.phase)) tx.findings.push(f);
    if (phase === 'mailFrom') {
      tx.mailReply = loggedReply(reply ?? R.senderOk());
      if (reply) this.endWith({ phase, reply, reason });
    } else if (phase === 'rcptTo') {
      this.recipient(reply, because?.symbol ?? null, reason);
    }
  }

  /** A refusal that did not come from the checks (spool space, another policy profile). */
  refused(phase: 'mailFrom' | 'rcptTo', reply: SmtpReply, reason: string): void {
    const tx = this.tx;
    if (!tx) return;
    if (phase === 'mailFrom') {
      tx.mailReply = loggedReply(reply);
      this.endWith({ phase, reply, reason });
    } else this.recipient(reply, null, reason);
  }

  private recipient(reply: SmtpReply | null, symbol: string | null, reason: string): void {
    const tx = this.tx;
    if (!tx || tx.pendingRecipient === null) return;
    tx.recipients.push({ address: tx.pendingRecipient, accepted: reply === null, reply: loggedReply(reply ?? R.recipientOk()), symbol });
    tx.pendingRecipient = null;
    // The refusal that will stand for the transaction if no recipient is accepted: a defer outweighs a reject (the client comes back).
    if (reply && (!tx.refusal || !R.isTransient(tx.refusal.reply) || R.isTransient(reply))) tx.refusal = { phase: 'rcptTo', reply, reason };
  }

  /** DATA began: the transaction now has its queue id. */
  data(queueId: string): void {
    if (this.tx) this.tx.queueId = queueId;
  }

  content(size: number, view: MessageView): void {
    if (this.tx) this.tx.content = { size, ...contentSummary(view) };
  }

  /**
   * End of data: the final reply, with the verdict when the checks gave one, and the reason when
   * something else decided (a scan or storage failure).
   */
  finished(reply: SmtpReply, verdict: Explanation | null, reason: string | null, scanMs: number | null): void {
    const tx = this.tx;
    if (!tx) return;
    this.tx = null;
    const v: LoggedVerdict = verdict
      ? { score: verdict.score, thresholds: verdict.thresholds, profile: verdict.profile, reason: reason ?? verdict.reason, findings: verdict.findings.map(loggedFinding) }
      : this.verdictSoFar(tx, reason ?? '');
    this.emit(tx, 'data', actionOf(reply, verdict?.action ?? 'accept'), v, reply, scanMs);
  }

  /** The engine refused the content itself (size, NUL, a long line); reply is what it sent. */
  aborted(reply?: SmtpReply): void {
    if (reply && this.tx) this.endWith({ phase: 'data', reply, reason: `content refused: ${reply.lines.join(' ')}` });
  }

  /** RSET, a new EHLO, or the end of the transaction. */
  reset(): void {
    this.end();
  }

  close(): void {
    this.end();
  }

  private end(): void {
    const tx = this.tx;
    if (!tx) return;
    if (tx.refusal && !tx.recipients.some((r) => r.accepted)) return this.endWith(tx.refusal);
    this.tx = null;
    this.emit(tx, tx.queueId ? 'data' : tx.recipients.length > 0 ? 'rcptTo' : 'mailFrom', 'abandoned', this.verdictSoFar(tx, 'the client ended the transaction'), null, null);
  }

  private endWith(r: Refusal): void {
    const tx = this.tx;
    if (!tx) return;
    this.tx = null;
    this.emit(tx, r.phase, actionOf(r.reply, 'reject'), this.verdictSoFar(tx, r.reason), r.reply, null);
  }

  private verdictSoFar(tx: OpenTransaction | null, reason: string): LoggedVerdict {
    const findings = [...this.sessionFindings, ...(tx?.findings ?? [])];
    const score = Math.round(findings.reduce((s, f) => s + f.score, 0) * 100) / 100;
    return { score, thresholds: this.profile.thresholds, profile: this.profile.id, reason, findings };
  }

  private client(): TransactionEntry['client'] {
    return { ip: this.conn.remoteAddress, port: this.conn.remotePort, ptr: this.facts.rdns?.name ?? null, helo: this.helo, tls: this.tls };
  }

  private emitWithoutSender(phase: LoggedPhase, reply: SmtpReply, reason: string): void {
    this.record({
      time: this.clock.now(),
      queueId: `${this.conn.id}.${++this.seq}`,
      sessionId: this.conn.id,
      client: this.client(),
      sender: null,
      mailReply: null,
      recipients: [],
      subject: null,
      messageId: null,
      size: null,
      phase,
      action: actionOf(reply, 'reject'),
      verdict: this.verdictSoFar(null, reason),
      reply: loggedReply(reply),
      scanMs: null,
    });
  }

  private emit(tx: OpenTransaction, phase: LoggedPhase, action: LoggedAction, verdict: LoggedVerdict, reply: SmtpReply | null, scanMs: number | null): void {
    this.record({
      time: tx.time,
      queueId: tx.queueId ?? `${this.conn.id}.${++this.seq}`,
      sessionId: this.conn.id,
      client: this.client(),
      sender: tx.sender,
      mailReply: tx.mailReply,
      recipients: tx.recipients,
      subject: tx.content?.subject ?? null,
      messageId: tx.content?.messageId ?? null,
      size: tx.content?.size ?? null,
      phase,
      action,
      verdict,
      reply: reply ? loggedReply(reply) : null,
      scanMs,
    });
  }

  private record(entry: TransactionEntry): void {
    try {
      this.journal.transaction(entry);
    } catch {
      // The journal only buffers; whatever it does wrong must not reach the SMTP session.
    }
  }
}
