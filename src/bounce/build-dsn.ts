/**
 * Builds a complete delivery status notification (RFC 3464) as an RFC 5322 message: a
 * multipart/report (RFC 6522) of a human-readable text, the message/delivery-status report and the
 * original's header (text/rfc822-headers) or whole original (message/rfc822). For an SMTPUTF8
 * original the RFC 6533 types are used: message/global-delivery-status, message/global-headers,
 * message/global. Pure: time and randomness come in with the input; nothing is read or written.
 *
 * Trusts the input's types (from the queue), not its text: foreign text is sanitized and folded, so
 * every line we write is CRLF-terminated and at most 998 octets. The returned original is passed
 * through unchanged (it was accepted under the same line limit). Throws DsnInputError for input no
 * DSN may be built from: a null or malformed sender, no recipients, a bad host name or status.
 */
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { deliveryStatusBody } from './delivery-status.js';
import { DsnInputError, type Dsn, type DsnChunks, type DsnInput } from './dsn-input.js';
import { humanText } from './human-text.js';
import { isBounceable, returnedContent, type DsnKind } from './notify.js';
import { rfc5322Date } from './text.js';

const SUBJECT: Record<DsnKind, string> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  delivered: 'Successful Mail Delivery Report',
  relayed: 'Successful Mail Delivery Report',
};

const RETURNED_AS: Record<DsnKind, string> = {
  failed: 'Undelivered message',
  delayed: 'Delayed message',
  delivered: 'Delivered message',
  relayed: 'Relayed message',
};

const CRLF = Buffer.from('\r\n');

/**
 * The header block of a stored message, up to and including the line end of its last field
 * (RFC 5322 §2.1: the header ends at the first empty line). A buffer without an empty line is all
 * header, which is also what a caller that read only the header block passes in.
 * XXX: the spool holds CRLF only (the server refuses bare LF), but a bare-LF empty line is honoured
 * too, so a malformed original can never have its whole body returned as "headers".
 */
export function headerBlock(message: Buffer): Buffer {
  if (message.subarray(0, 2).equals(CRLF) || message[0] === 0x0a) return message.subarray(0, 0);
  const ends = [message.indexOf('\r\n\r\n'), message.indexOf('\n\n')].filter((i) => i >= 0);
  if (ends.length === 0) return message;
  const end = Math.min(...ends);
  return message.subarray(0, end + (message[end] === 0x0d ? 2 : 1));
}

// No mailbox (RFC 5321 §4.1.2) holds a control character; one would break the To field.
const BAD_SENDER = /[\x00-\x1f\x7f]/;

function checkSender(sender: string): string {
  if (!isBounceable(sender)) throw new DsnInputError('a message from the null reverse path is never notified (RFC 5321 §6.1)');
  if (BAD_SENDER.test(sender) || !sender.includes('@')) throw new DsnInputError('the original sender is not a mailbox');
  return sender;
}

/**
 * RFC 2046 §5.1.1: the boundary must not occur in any part. "=_" cannot occur in base64 or
 * quoted-printable text, and 128 random bits make a chance hit negligible; we still look.
 */
function pickBoundary(random: (n: number) => Buffer, parts: readonly (Buffer | string)[]): string {
  for (let attempt = 0; attempt < 8; attempt++) {
    const boundary = `=_moat_${random(16).toString('hex')}`;
    if (parts.every((p) => !p.includes(`--${boundary}`))) return boundary;
  }
  throw new DsnInputError('the random source keeps producing a boundary found in the message');
}

function partHead(type: string, description: string, eightBit: boolean): string {
  return `Content-Type: ${type}\r\nContent-Description: ${description}\r\n${eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}\r\n`;
}

/** The DSN as the pieces it is made of; the original is one of them, referenced, not copied. */
export function buildDsnChunks(input: DsnInput): DsnChunks {
  const sender = checkSender(input.originalSender);
  if (input.recipients.length === 0) throw new DsnInputError('a DSN needs at least one recipient');
  const random = input.random ?? randomBytes;
  const global = input.smtputf8;
  const returned = returnedContent(input.ret, input.kind);
  const status = deliveryStatusBody(input); // checks the host name first
  const human = humanText(input, returned);
  const original = returned === 'FULL' ? input.original : headerBlock(input.original);

  const humanEightBit = !isAscii(Buffer.from(human));
  const statusEightBit = !isAscii(Buffer.from(status));
  const originalEightBit = !isAscii(original);
  const eightBit = humanEightBit || statusEightBit || originalEightBit;

  const boundary = pickBoundary(random, [human, status, original]);
  const messageId = `<${input.now.getTime().toString(36)}.${random(8).toString('hex')}@${input.reportingMta}>`;
  const reportType = global ? 'global-delivery-status' : 'delivery-status';
  const returnedType =
    returned === 'FULL' ? (global ? 'message/global' : 'message/rfc822') : global ? 'message/global-headers' : 'text/rfc822-headers';

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    // Not folded: a mailbox is at most 256 octets, and folding could alter a quoted local part.
    `To: <${sender}>`,
    `Subject: ${SUBJECT[input.kind]}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    // RFC 3834 §5: a DSN is an automatic response to a message.
    'Auto-Submitted: auto-replied',
    `Content-Type: multipart/report; report-type=${reportType};\r\n boundary="${boundary}"`,
    ...(eightBit ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
    'This is a MIME-encapsulated message.',
    '',
  ].join('\r\n');

  const before =
    `${head}--${boundary}\r\n` +
    partHead(`text/plain; charset=${humanEightBit ? 'utf-8' : 'us-ascii'}`, 'Notification', humanEightBit) +
    `${human}\r\n--${boundary}\r\n` +
    partHead(global ? 'message/global-delivery-status' : 'message/delivery-status', 'Delivery report', statusEightBit) +
    `${status}\r\n--${boundary}\r\n` +
    partHead(returnedType, returned === 'FULL' ? RETURNED_AS[input.kind] : `${RETURNED_AS[input.kind]} header`, originalEightBit);
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1): keep the original's last.
  const endsWithCrlf = original.length === 0 || original.subarray(-2).equals(CRLF);
  const after = `${endsWithCrlf ? '' : '\r\n'}\r\n--${boundary}--\r\n`;

  const chunks = [Buffer.from(before, 'utf8'), original, Buffer.from(after, 'utf8')];
  return {
    from: '',
    to: sender,
    chunks,
    size: chunks.reduce((n, c) => n + c.length, 0),
    eightBit: eightBit || !isAscii(chunks[0] ?? Buffer.alloc(0)),
  };
}

/** The DSN as one buffer, ready to spool from the null reverse path. */
export function buildDsn(input: DsnInput): Dsn {
  const dsn = buildDsnChunks(input);
  return { from: '', to: dsn.to, message: Buffer.concat(dsn.chunks, dsn.size) };
}
