/**
 * The human-readable first part of a DSN (RFC 3464 §2, RFC 6522 §3): what happened to each
 * recipient, in plain words, with the downstream's reply and, for a delay, until when we keep trying.
 * Nothing internal goes in: no queue ids, no host names; the remote reply is the one foreign text,
 * sanitized. ASCII unless the report is global (RFC 6533), then UTF-8.
 */
import { describeStatus } from '../smtp/status.js';
import { diagnosticText } from './delivery-status.js';
import type { DsnAction, DsnInput, DsnRecipient } from './dsn-input.js';
import type { DsnKind, DsnRet } from './notify.js';
import { rfc5322Date, sanitize, wrap } from './text.js';

const OPENING: Record<DsnKind, string> = {
  failed:
    'Your message could not be delivered to one or more of its recipients. This is a permanent error: ' +
    'the mail system has given up on the recipients listed below.',
  delayed:
    'Your message has not yet been delivered to one or more of its recipients. The mail system keeps ' +
    'trying; you do not need to send the message again.',
  delivered: 'Your message was delivered to the recipients listed below, as you asked to be told.',
  relayed:
    'Your message was passed on to a mail system that does not send delivery notifications; you will ' +
    'get no further notice about the recipients listed below.',
};

const OUTCOME: Record<DsnAction, string> = {
  failed: 'could not be delivered',
  delayed: 'has not been delivered yet',
  delivered: 'was delivered',
  relayed: 'was passed on to a mail system that sends no delivery notifications',
  expanded: 'was delivered to a mailing list or forwarding address, which may send notices of its own',
};

function recipientText(r: DsnRecipient, global: boolean): string {
  const who = `<${sanitize(r.finalRecipient, global)}>`;
  let line = `${who} ${OUTCOME[r.action]} (${r.status}: ${describeStatus(r.status)})`;
  if (r.action === 'delayed' && r.willRetryUntil) line += `; the mail system will keep trying until ${rfc5322Date(r.willRetryUntil)}`;
  const out = [wrap(`${line}.`)];
  if (r.diagnostic) {
    out.push(wrap('The receiving mail server replied:', 76, '    '));
    out.push(wrap(diagnosticText(r.diagnostic, global), 76, '    '));
  }
  return out.join('\r\n');
}

/** The text/plain body, ending with CRLF. `returned` says what the third part holds. */
export function humanText(input: DsnInput, returned: DsnRet): string {
  const global = input.smtputf8;
  const attached =
    returned === 'FULL'
      ? 'The delivery report for each recipient and your message itself are attached.'
      : "The delivery report for each recipient and your message's header are attached.";
  const paragraphs = [
    wrap(`This is the mail system at ${input.reportingMta}.`),
    wrap(OPENING[input.kind]),
    ...input.recipients.map((r) => recipientText(r, global)),
    wrap(`${attached} If you need help, forward this report to your postmaster.`),
  ];
  return `${paragraphs.join('\r\n\r\n')}\r\n`;
}
