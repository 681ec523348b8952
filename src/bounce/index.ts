/**
 * Delivery status notifications (RFC 3464 multipart/report, RFC 3461 NOTIFY rules, RFC 6533 for
 * SMTPUTF8 originals). Pure: the caller gives the clock and the original; the result is a complete
 * message with CRLF lines of at most 998 octets, to be sent from the null reverse path.
 */
import { createHash } from 'node:crypto';
import type { SmtpReply } from '../smtp/reply.js';
import type { EnhancedStatus } from '../smtp/status.js';

export type DsnKind = 'failed' | 'delayed' | 'relayed';
export type DsnNotify = 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface DsnRecipient {
  readonly finalRecipient: string;
  readonly originalRecipient: { readonly addrType: string; readonly address: string } | null;
  readonly action: 'failed' | 'delayed' | 'delivered' | 'relayed';
  readonly status: EnhancedStatus;
  readonly remoteMta: string | null;
  readonly diagnostic: SmtpReply | null;
  readonly lastAttempt: Date | null;
  readonly willRetryUntil: Date | null;
}

export interface DsnInput {
  readonly reportingMta: string;
  readonly arrivalDate: Date;
  readonly now: Date;
  readonly originalSender: string;
  readonly envid: string | null;
  readonly ret: 'FULL' | 'HDRS' | null;
  readonly original: Buffer;
  readonly smtputf8: boolean;
  readonly kind: DsnKind;
  readonly recipients: readonly DsnRecipient[];
}

/**
 * RFC 3461 §4.1: no NOTIFY means FAILURE,DELAY; NOTIFY=NEVER ([]) means nothing. A "relayed" notice
 * (§6.2.3.1: delivered to a server that takes no DSN requests) only when SUCCESS was asked for.
 */
export function shouldNotify(notify: readonly DsnNotify[] | null, kind: DsnKind): boolean {
  const want = kind === 'failed' ? 'FAILURE' : kind === 'delayed' ? 'DELAY' : 'SUCCESS';
  return notify === null ? want !== 'SUCCESS' : notify.includes(want);
}

/** RFC 5321 §6.1: never a notification to the null reverse path. */
export function isBounceable(sender: string): boolean {
  return sender !== '';
}

function date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** Control characters out, then folded into ≤ 998-octet lines (RFC 5322 §2.1.1). */
function field(name: string, value: string): string {
  const clean = value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  const out: string[] = [];
  let line = `${name}: `;
  for (const word of clean.split(' ')) {
    if (line.length + word.length + 1 > 900 && line.trim() !== `${name}:`) {
      out.push(line.trimEnd());
      line = ' ';
    }
    line += `${word.slice(0, 900)} `;
  }
  out.push(line.trimEnd());
  return out.join('\r\n');
}

function headerBlock(original: Buffer): Buffer {
  const end = original.indexOf('\r\n\r\n');
  return end < 0 ? original : original.subarray(0, end + 2);
}

export function buildDsn(input: DsnInput): { from: ''; to: string; message: Buffer } {
  const utf8 = input.smtputf8;
  const boundary = `moat-${createHash('sha256').update(`${input.now.getTime()}${input.originalSender}${input.recipients.length}`).digest('hex').slice(0, 24)}`;
  const failed = input.kind === 'failed';
  const subject = { failed: 'Undelivered Mail Returned to Sender', delayed: 'Delayed Mail (still being retried)', relayed: 'Successful Mail Delivery Report' }[input.kind];
  const addrType = utf8 ? 'utf-8' : 'rfc822';
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    field('To', `<${input.originalSender}>`),
    `Subject: ${subject}`,
    `Date: ${date(input.now)}`,
    `Message-ID: <${boundary}@${input.reportingMta}>`,
    'MIME-Version: 1.0',
    'Auto-Submitted: auto-replied',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
  ].join('\r\n');

  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    input.kind === 'relayed'
      ? 'Your message was relayed to a mail server that does not send delivery notifications; you will get no further notice about these recipients.'
      : failed
      ? 'Your message could not be delivered to one or more recipients. It is attached below.'
      : `Your message could not be delivered yet to one or more recipients. Delivery will be retried${input.recipients[0]?.willRetryUntil ? ` until ${date(input.recipients[0].willRetryUntil)}` : ''}; you need not resend it.`,
    '',
    ...input.recipients.map((r) => field(`<${r.finalRecipient}>`, r.diagnostic ? `${r.remoteMta ?? 'remote server'} said: ${diag(r.diagnostic)}` : `status ${r.status}`)),
    '',
  ].join('\r\n');

  const perMessage = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    ...(input.envid ? [field('Original-Envelope-Id', input.envid)] : []),
    `Arrival-Date: ${date(input.arrivalDate)}`,
  ];
  const perRecipient = input.recipients.map((r) =>
    [
      ...(r.originalRecipient ? [field('Original-Recipient', `${r.originalRecipient.addrType};${r.originalRecipient.address}`)] : []),
      field('Final-Recipient', `${addrType}; ${r.finalRecipient}`),
      `Action: ${r.action}`,
      `Status: ${r.status}`,
      ...(r.remoteMta ? [field('Remote-MTA', `dns; ${r.remoteMta}`)] : []),
      ...(r.diagnostic ? [field('Diagnostic-Code', `smtp; ${diag(r.diagnostic)}`)] : []),
      ...(r.lastAttempt ? [`Last-Attempt-Date: ${date(r.lastAttempt)}`] : []),
      ...(r.willRetryUntil ? [`Will-Retry-Until: ${date(r.willRetryUntil)}`] : []),
    ].join('\r\n'),
  );
  const status = [perMessage.join('\r\n'), ...perRecipient].join('\r\n\r\n');

  const full = input.ret === 'FULL';
  const originalPart = full ? input.original : headerBlock(input.original);
  const originalType = full ? (utf8 ? 'message/global' : 'message/rfc822') : utf8 ? 'message/global-headers' : 'text/rfc822-headers';
  const parts = [
    Buffer.from(head, 'utf8'),
    Buffer.from(`--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n${human}\r\n`, 'utf8'),
    Buffer.from(`--${boundary}\r\nContent-Type: ${utf8 ? 'message/global-delivery-status' : 'message/delivery-status'}\r\nContent-Description: Delivery report\r\n\r\n${status}\r\n\r\n`, 'utf8'),
    Buffer.from(`--${boundary}\r\nContent-Type: ${originalType}\r\nContent-Description: ${input.kind === 'relayed' ? 'Relayed' : 'Undelivered'} message${full ? '' : ' headers'}\r\n\r\n`, 'utf8'),
    originalPart,
    Buffer.from(`${originalPart.subarray(-2).toString() === '\r\n' ? '' : '\r\n'}\r\n--${boundary}--\r\n`, 'utf8'),
  ];
  return { from: '', to: input.originalSender, message: Buffer.concat(parts) };
}

function diag(r: SmtpReply): string {
  return `${r.code}${r.status ? ` ${r.status}` : ''} ${r.lines.join(' ')}`.trim();
}
