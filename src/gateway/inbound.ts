/**
 * The inbound side of the gateway: one SessionHandler per SMTP connection, joining the protocol
 * engine to the pipeline (checks per phase) and the spool. It answers with factory replies only; a
 * downstream's words never reach the client. "250" is sent only after the spool writer has fsynced
 * and renamed the message (DESIGN.md §5); a full disk answers 452 4.3.1, nothing is lost.
 */
import type { Logger } from '../platform/logger.js';
import type { Clock } from '../platform/clock.js';
import { PipelineSession } from '../pipeline/runner.js';
import type { Check, Verdict } from '../pipeline/types.js';
import type { Spool, StoredMessage } from '../queue/spool.js';
import { SpoolFull, SpoolError } from '../queue/spool.js';
import { newQueueId } from '../queue/queue-id.js';
import type { Envelope } from '../queue/record.js';
import { formatMailbox, type Mailbox, type ReversePath } from '../smtp/address.js';
import type { MailParams, RcptParams } from '../smtp/params.js';
import * as R from '../smtp/reply.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { CloseReason, ConnectionInfo, ContentInfo, MessageSink, SessionHandler, TlsInfo, Transaction } from '../smtp/server/handler.js';
import { receivedHeader } from './received.js';

export interface InboundDeps {
  readonly hostname: string;
  readonly checks: readonly Check[];
  readonly spool: Spool;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Free space the spool must keep beyond the declared message size. */
  readonly spoolReserve: number;
  readonly accepted: (m: StoredMessage) => void;
}

function verdictReply(v: Verdict): SmtpReply | null {
  if (v.action === 'accept') return null;
  if (v.action === 'defer') return R.tryLater();
  return v.because.symbol.startsWith('RCPT_') ? R.relayDenied() : R.policyRejected();
}

export class InboundSession implements SessionHandler {
  private readonly pipeline: PipelineSession;
  private readonly log: Logger;
  private tls: TlsInfo | null = null;
  private messages = 0;

  constructor(
    private readonly conn: ConnectionInfo,
    private readonly deps: InboundDeps,
  ) {
    this.pipeline = new PipelineSession(deps.checks, { id: conn.id, clientIp: conn.remoteAddress });
    this.log = deps.logger.child({ session: conn.id, client: conn.remoteAddress });
  }

  async connect(): Promise<SmtpReply | null> {
    this.log.info('session.open', { port: this.conn.remotePort, local: `${this.conn.localAddress}:${this.conn.localPort}` });
    return verdictReply(await this.pipeline.phase('connect', (r, s) => r.connect?.(s), AbortSignal.timeout(30_000)));
  }

  async helo(name: string): Promise<SmtpReply | null> {
    return verdictReply(await this.pipeline.phase('helo', (r, s) => r.helo?.(name, s), AbortSignal.timeout(30_000)));
  }

  async mailFrom(from: ReversePath, params: MailParams): Promise<SmtpReply | null> {
    const free = await this.deps.spool.freeSpace(this.deps.clock.now()).catch(() => 0);
    if (free < (params.size ?? 0) + this.deps.spoolReserve) {
      this.log.warn('message.deferred', { from: from ? formatMailbox(from) : '', reply: '452 4.3.1', why: 'spool space low', free });
      return R.insufficientStorage();
    }
    return verdictReply(await this.pipeline.phase('mailFrom', (r, s) => r.mailFrom?.(from, s), AbortSignal.timeout(30_000)));
  }

  async rcptTo(to: Mailbox, _params: RcptParams, tx: Transaction): Promise<SmtpReply | null> {
    const v = await this.pipeline.phase('rcptTo', (r, s) => r.rcptTo?.(to, s), AbortSignal.timeout(30_000));
    const reply = verdictReply(v);
    if (reply) {
      this.log.info('message.rejected', {
        from: tx.from ? formatMailbox(tx.from) : '',
        to: formatMailbox(to),
        reply: R.replyToString(reply),
        symbols: v.findings.map((f) => f.symbol),
      });
    }
    return reply;
  }

  async openMessage(tx: Transaction): Promise<MessageSink | SmtpReply> {
    const now = this.deps.clock.now();
    const id = newQueueId(now);
    const envelope: Envelope = {
      v: 1,
      id,
      receivedAt: now,
      from: tx.from ? formatMailbox(tx.from) : '',
      smtputf8: tx.mailParams.smtputf8,
      body: tx.mailParams.body,
      ret: tx.mailParams.ret,
      envid: tx.mailParams.envid,
      client: { ip: this.conn.remoteAddress, helo: tx.helo, tls: tx.tls !== null },
      recipients: tx.recipients.map((r) => ({
        address: formatMailbox(r.mailbox),
        domain: r.mailbox.domain,
        notify: r.params.notify,
        orcpt: r.params.orcpt,
      })),
    };
    const writer = this.deps.spool.createWriter(envelope);
    const first = tx.recipients.length === 1 ? tx.recipients[0] : undefined;
    const received = receivedHeader({
      helo: tx.helo,
      clientIp: this.conn.remoteAddress,
      hostname: this.deps.hostname,
      extended: tx.extended,
      tls: tx.tls !== null,
      utf8: tx.mailParams.smtputf8,
      queueId: id,
      singleRecipient: first ? formatMailbox(first.mailbox) : null,
      date: new Date(now),
    });
    const log = this.log.child({ queueId: id });
    let wrote = false;
    const ensureHeader = async (): Promise<void> => {
      if (!wrote) {
        wrote = true;
        await writer.write([received]);
      }
    };
    return {
      write: async (chunks) => {
        await ensureHeader();
        await writer.write(chunks);
      },
      finish: async (info: ContentInfo) => {
        try {
          await ensureHeader();
          const stored = await writer.finish(info.eightBit);
          this.messages++;
          const reply = R.queued(id);
          log.info('message.accepted', {
            from: envelope.from,
            to: envelope.recipients.map((r) => r.address),
            size: info.size,
            reply: R.replyToString(reply),
          });
          this.deps.accepted(stored);
          return reply;
        } catch (e) {
          const reply = e instanceof SpoolFull ? R.insufficientStorage() : R.temporaryFailure(`${this.conn.id}.${id}`);
          log.error('message.deferred', { reply: R.replyToString(reply), error: e instanceof SpoolError ? e.code : String(e) });
          return reply;
        }
      },
      abort: () => writer.abort(),
    };
  }

  reset(): void {}

  tlsStarted(info: TlsInfo): void {
    this.tls = info;
    this.log.debug('session.open', { tls: info.protocol, cipher: info.cipher });
  }

  close(reason: CloseReason): void {
    this.log.info('session.close', { reason, messages: this.messages, tls: this.tls?.protocol ?? null });
  }
}
