/**
 * Turns failed or delayed recipients into a DSN (RFC 3464) and puts it into the spool like any other
 * message, from the null sender, to the original envelope sender. Never for a null-sender message
 * (RFC 5321 §6.1: no bounce about a bounce) and never against the recipient's NOTIFY wish (RFC 3461).
 * Resolves only once the DSN is durable, so the scheduler may then forget the failure.
 */
import { isAscii } from 'node:buffer';
import { buildDsn, shouldNotify } from '../bounce/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Notifier } from '../queue/scheduler.js';
import type { Spool, StoredMessage } from '../queue/spool.js';
import type { DeliveryState } from '../queue/state.js';
import { newQueueId } from '../queue/queue-id.js';
import { parseMailbox } from '../smtp/address.js';
import { downstreamReply } from '../smtp/reply.js';
import { parseStatus, type EnhancedStatus } from '../smtp/status.js';

export interface NotifierDeps {
  readonly spool: Spool;
  readonly hostname: () => string;
  /** Queue lifetime, for a delay DSN's Will-Retry-Until. */
  readonly lifetime: () => number;
  readonly clock: Clock;
  readonly content: (m: StoredMessage) => AsyncIterable<Buffer>;
  readonly logger: Logger;
  readonly accepted: (m: StoredMessage) => void;
}

async function readAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

/** "550 5.1.1 User unknown" back into a reply for the DSN's Diagnostic-Code. */
function replyFromLine(line: string | null) {
  const m = line ? /^([2-5]\d\d)(?: ([245]\.\d{1,3}\.\d{1,3}))? ?(.*)$/.exec(line) : null;
  if (!m) return null;
  return downstreamReply(Number(m[1]), [m[2] ? `${m[2]} ${m[3] ?? ''}` : (m[3] ?? '')]);
}

export class DsnNotifier implements Notifier {
  constructor(private readonly deps: NotifierDeps) {}

  async notify(message: StoredMessage, state: DeliveryState, indices: readonly number[], kind: 'failed' | 'delayed' | 'relayed'): Promise<void> {
    const env = message.envelope;
    if (env.from === '' || env.isBounce) return;
    const wanted = indices.filter((i) => shouldNotify(env.recipients[i]?.notify ?? null, kind));
    if (wanted.length === 0) return;
    const now = this.deps.clock.now();
    const original = await readAll(this.deps.content(message));
    const dsn = buildDsn({
      reportingMta: this.deps.hostname(),
      arrivalDate: new Date(env.receivedAt),
      now: new Date(now),
      originalSender: env.from,
      envid: env.envid,
      ret: env.ret,
      original,
      smtputf8: env.smtputf8,
      kind,
      recipients: wanted.map((i) => {
        const r = env.recipients[i];
        const s = state.recipients[i];
        return {
          finalRecipient: r?.address ?? '',
          originalRecipient: r?.orcpt ?? null,
          action: kind,
          status: kind === 'relayed' ? '2.0.0' : ((parseStatus(s?.dsnStatus ?? '') ?? (kind === 'failed' ? '5.0.0' : '4.0.0')) as EnhancedStatus),
          remoteMta: s?.remoteMta ?? null,
          diagnostic: replyFromLine(s?.lastReply ?? null),
          lastAttempt: s?.lastAttemptAt ? new Date(s.lastAttemptAt) : null,
          willRetryUntil: kind === 'delayed' ? new Date(env.receivedAt + this.deps.lifetime()) : null,
        };
      }),
    });
    const to = parseMailbox(env.from);
    const id = newQueueId(now);
    const writer = this.deps.spool.createWriter(id);
    await writer.write([dsn.message]);
    const stored = await writer.finish(
      {
        v: 2,
        id,
        receivedAt: now,
        from: '',
        // The DSN needs SMTPUTF8 only to reach a non-ASCII sender address (RFC 6533 §6).
        smtputf8: !isAscii(Buffer.from(env.from)),
        body: null,
        ret: null,
        envid: null,
        client: { ip: '127.0.0.1', helo: this.deps.hostname(), tls: false },
        recipients: [{ address: env.from, domain: to.ok ? to.value.domain : '', notify: null, orcpt: null }],
        prepend: '',
        edits: [],
        isBounce: true,
      },
      !isAscii(dsn.message),
    );
    this.deps.logger.info('dsn.queued', { queueId: id, about: env.id, to: env.from, kind, recipients: wanted.length });
    this.deps.accepted(stored);
  }
}
