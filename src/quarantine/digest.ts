/**
 * The per-user quarantine digest: once a day (`quarantine.digest.hour`, local time) each recipient
 * with mail quarantined since the last digest gets one message listing it — sender, subject, date,
 * score — each with a release link signed for that message and that recipient (signed-link.ts),
 * and optionally a link to a self-service page of all of the recipient's quarantined mail. The
 * links point at `admin.publicUrl`. The digest is built here and spooled into the worker's own
 * shard like a DSN (gateway/notifier.ts): it is never filtered, and it is delivered to the LAN
 * server by the domain's relay like any other mail. Marked Auto-Submitted (RFC 3834 §5).
 * One worker runs the schedule; the last run is kept in the state store (so a restart sends
 * nothing twice) and a lock there keeps a manual run and the schedule from overlapping.
 * Reads only the first 16 KiB (the header) of each quarantined message.
 */
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import { signLink } from '../admin/signed-link.js';
import { rfc5322Date } from '../bounce/text.js';
import { messageView } from '../pipeline/message.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { newQueueId } from '../queue/queue-id.js';
import type { Spool, StoredMessage } from '../queue/spool.js';
import { parseMailbox } from '../smtp/address.js';
import type { StateStore } from '../store/state.js';
import type { DigestConfig } from './config.js';
import type { Quarantine } from './store.js';

export interface DigestItem {
  readonly id: string;
  readonly receivedAt: number;
  readonly from: string;
  readonly subject: string | null;
  readonly score: number | null;
  readonly releaseUrl: string;
}

export interface DigestInput {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly hostname: string;
  readonly items: readonly DigestItem[];
  /** How many more are in quarantine than listed. */
  readonly more: number;
  readonly selfServiceUrl: string | null;
  readonly validUntil: number;
  readonly now: number;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Control characters out, bounded: header-derived text goes into our own lines. */
const clean = (s: string, max: number): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, max);

function base64Lines(text: string): string {
  return (Buffer.from(text, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** The digest as an RFC 5322 message: multipart/alternative of text and HTML, UTF-8 in base64. */
export function buildDigest(d: DigestInput): Buffer {
  const date = (t: number): string => new Date(t).toISOString().replace('T', ' ').slice(0, 16);
  const until = new Date(d.validUntil).toISOString().slice(0, 10);
  const text = [
    `Messages for ${d.to} were held in quarantine as probable spam:`,
    '',
    ...d.items.flatMap((i) => [
      `${date(i.receivedAt)}  from ${i.from || '<>'}${i.score !== null ? `  (score ${i.score})` : ''}`,
      `  Subject: ${clean(i.subject ?? '(none)', 200)}`,
      `  Release it to your mailbox: ${i.releaseUrl}`,
      '',
    ]),
    ...(d.more > 0 ? [`…and ${d.more} more.`, ''] : []),
    ...(d.selfServiceUrl ? [`All your quarantined mail: ${d.selfServiceUrl}`, ''] : []),
    `The links work until ${until}. Quarantined mail is deleted after a while; nothing needs to be done for spam.`,
  ].join('\r\n');
  const rows = d.items
    .map(
      (i) =>
        `<tr><td>${esc(date(i.receivedAt))}</td><td>${esc(clean(i.from || '<>', 320))}</td><td>${esc(clean(i.subject ?? '(none)', 200))}</td>` +
        `<td>${i.score ?? ''}</td><td><a href="${esc(i.releaseUrl)}">Release</a></td></tr>`,
    )
    .join('\r\n');
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><title>Quarantined mail</title></head><body>',
    `<p>Messages for ${esc(d.to)} were held in quarantine as probable spam:</p>`,
    '<table border="1" cellpadding="4" cellspacing="0"><thead><tr><th>Received (UTC)</th><th>From</th><th>Subject</th><th>Score</th><th></th></tr></thead><tbody>',
    rows,
    '</tbody></table>',
    d.more > 0 ? `<p>…and ${d.more} more.</p>` : '',
    d.selfServiceUrl ? `<p><a href="${esc(d.selfServiceUrl)}">All your quarantined mail</a></p>` : '',
    `<p>The links work until ${esc(until)}. Quarantined mail is deleted after a while; nothing needs to be done for spam.</p>`,
    '</body></html>',
  ].join('\r\n');
  const boundary = `=_moat_${randomBytes(12).toString('hex')}`;
  const subject = isAscii(Buffer.from(d.subject)) ? d.subject : libmime.encodeWord(d.subject, 'Q', 52);
  const head = [
    `From: ${d.from}`,
    `To: ${d.to}`,
    `Subject: ${subject}${d.items.length + d.more > 0 ? ` (${d.items.length + d.more})` : ''}`,
    `Date: ${rfc5322Date(new Date(d.now))}`,
    `Message-ID: <digest.${randomBytes(8).toString('hex')}@${d.hostname}>`,
    'Auto-Submitted: auto-generated',
    'Precedence: bulk',
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  const part = (type: string, body: string): string => [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: base64', '', base64Lines(body)].join('\r\n');
  return Buffer.from([...head, '', part('text/plain', text), part('text/html', html), `--${boundary}--`, ''].join('\r\n'), 'utf8');
}

export interface DigestDeps {
  readonly quarantine: Quarantine;
  readonly spool: Spool;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secret: () => Promise<Buffer>;
  readonly settings: () => { readonly digest: DigestConfig; readonly publicUrl: string | undefined; readonly hostname: string };
  /** A spooled digest, for the shard's scheduler. */
  readonly accepted: (m: StoredMessage) => void;
}

const LAST_RUN = 'digest:last-run';
const LOCK = 'digest:lock';
const DAY = 86_400_000;
const KEEP = 400 * DAY;

export class DigestSender {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: DigestDeps) {}

  /** Checks every five minutes whether today's digests are due (at or after the hour, not sent today). */
  start(): void {
    const tick = (): void => {
      void this.due()
        .then((due) => (due ? this.run() : 0))
        .catch((e: unknown) => this.deps.logger.error('digest.error', { error: e instanceof Error ? e.message : String(e) }));
    };
    this.timer = setInterval(tick, 300_000).unref();
    tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async due(): Promise<boolean> {
    const { digest } = this.deps.settings();
    if (!digest.enabled) return false;
    const now = new Date(this.deps.clock.now());
    if (now.getHours() < digest.hour) return false;
    const last = Number((await this.deps.state.get(LAST_RUN)) ?? 0);
    const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
    return last < startOfToday;
  }

  /** Sends the digests for what was quarantined since the last run; how many digests. */
  async run(): Promise<number> {
    const { digest, publicUrl, hostname } = this.deps.settings();
    if (!publicUrl) throw new Error('admin.publicUrl is not set: digest links would have nowhere to point');
    const now = this.deps.clock.now();
    if (!(await this.deps.state.setIfAbsent(LOCK, String(process.pid), 600_000))) return 0;
    try {
      const since = Number((await this.deps.state.get(LAST_RUN)) ?? now - DAY);
      const secret = await this.deps.secret();
      const validUntil = now + digest.linkValidity;
      const e = Math.floor(validUntil / 1000);
      const byRecipient = new Map<string, { address: string; ids: { id: string; receivedAt: number; from: string; score: number | null }[] }>();
      for (const item of await this.deps.quarantine.list()) {
        const env = item.envelope;
        if (env.receivedAt < since || env.receivedAt >= now) continue;
        for (const r of env.recipients) {
          const key = r.address.toLowerCase();
          const g = byRecipient.get(key) ?? { address: r.address, ids: [] };
          g.ids.push({ id: env.id, receivedAt: env.receivedAt, from: env.from, score: env.verdict?.score ?? null });
          byRecipient.set(key, g);
        }
      }
      let sent = 0;
      for (const [key, g] of byRecipient) {
        const listed = g.ids.slice(0, digest.maxItems);
        const items: DigestItem[] = [];
        for (const x of listed) {
          const head = await this.deps.quarantine.head(x.id, 16 * 1024);
          const subject = head ? (await messageView(Buffer.from(head, 'utf8'), head.length, async function* () {}).mime()).headers.subject : null;
          const t = signLink(secret, { k: 'release', id: x.id, r: key, e });
          items.push({ ...x, subject, releaseUrl: `${publicUrl}/q/release?t=${t}` });
        }
        const selfServiceUrl = digest.selfService ? `${publicUrl}/q/mine?t=${signLink(secret, { k: 'user', r: key, e })}` : null;
        const domain = parseMailbox(g.address);
        const from = digest.from ?? `postmaster@${domain.ok ? domain.value.domain : hostname}`;
        const message = buildDigest({ to: g.address, from, subject: digest.subject, hostname, items, more: g.ids.length - listed.length, selfServiceUrl, validUntil, now });
        await this.spool(g.address, from, message, now);
        sent++;
      }
      await this.deps.state.set(LAST_RUN, String(now), KEEP);
      if (sent > 0) this.deps.logger.info('digest.sent', { digests: sent });
      return sent;
    } finally {
      await this.deps.state.delete(LOCK).catch(() => undefined);
    }
  }

  private async spool(to: string, from: string, message: Buffer, now: number): Promise<void> {
    const id = newQueueId(now);
    const rcpt = parseMailbox(to);
    const writer = this.deps.spool.createWriter(id);
    await writer.write([message]);
    const stored = await writer.finish(
      {
        v: 2,
        id,
        receivedAt: now,
        from,
        smtputf8: !isAscii(Buffer.from(to + from)),
        body: null,
        ret: null,
        envid: null,
        client: { ip: '127.0.0.1', helo: this.deps.settings().hostname, tls: false },
        recipients: [{ address: to, domain: rcpt.ok ? rcpt.value.domain : '', notify: ['FAILURE'], orcpt: null }],
        prepend: '',
        edits: [],
        // A digest that cannot be delivered is not worth a DSN to the postmaster.
        isBounce: true,
      },
      !isAscii(message),
    );
    this.deps.logger.info('digest.queued', { queueId: id, to });
    this.deps.accepted(stored);
  }
}
