/**
 * The machine-readable part: the body of message/delivery-status (RFC 3464 §2) or, for an SMTPUTF8
 * original, message/global-delivery-status (RFC 6533 §6.2), where UTF-8 may appear raw.
 *
 * Trusts the types of its input, not its text: every address, the ENVID and the downstream's reply
 * are sanitized and folded here, so no field can break a line or the MIME structure. Throws
 * DsnInputError only for values that come from us and must be right (our host name, a status).
 */
import { encodeUtf8AddrXtext } from '../smtp/params.js';
import { replyToString, type SmtpReply } from '../smtp/reply.js';
import { parseStatus } from '../smtp/status.js';
import { DsnInputError, type DsnInput, type DsnRecipient } from './dsn-input.js';
import { headerField, rfc5322Date, sanitize, truncate } from './text.js';

/** A downstream reply longer than this is cut in the report (RFC 3464 leaves the size to us). */
export const MAX_DIAGNOSTIC = 4000;

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** Our own host name, which goes into headers unquoted; a bad one is a configuration bug. */
export function checkHostname(host: string): string {
  if (!HOSTNAME.test(host) || host.length > 255) throw new DsnInputError(`reporting MTA "${sanitize(host, false)}" is not a host name`);
  return host;
}

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/; // no space: folding would change a quoted local part
const NO_CONTROLS = /^[^\x00-\x1f\x7f-\x9f]+$/u;

/**
 * "type; address" for Original-Recipient and Final-Recipient (RFC 3464 §2.3.1, §2.3.2). An address
 * that its declared type cannot carry safely is written as RFC 6533 §3 utf-8 type instead: raw in a
 * global report (utf-8-address), as utf-8-addr-xtext otherwise, so it survives losslessly.
 */
export function typedAddress(addrType: string, address: string, global: boolean): string {
  const type = addrType.toLowerCase();
  if (type !== 'utf-8' && /^[a-z0-9-]+$/.test(type) && PRINTABLE_ASCII.test(address)) return `${type}; ${address}`;
  if (global && NO_CONTROLS.test(address) && !/\s/u.test(address)) return `utf-8; ${address}`;
  return `utf-8; ${encodeUtf8AddrXtext(address)}`;
}

/** "550 5.1.1 User unknown / second line", sanitized and bounded, for Diagnostic-Code and humans. */
export function diagnosticText(reply: SmtpReply, global: boolean): string {
  return truncate(sanitize(replyToString(reply), global), MAX_DIAGNOSTIC);
}

/** Remote-MTA's name: a host name or address literal as the relay client knew it; no spaces. */
function mtaName(name: string): string {
  return sanitize(name, false).replace(/ /g, '?');
}

function recipientFields(r: DsnRecipient, global: boolean): string[] {
  const status = parseStatus(r.status);
  if (status === null) throw new DsnInputError(`"${sanitize(r.status, false)}" is not an enhanced status`);
  const out: string[] = [];
  if (r.originalRecipient) {
    out.push(headerField('Original-Recipient', typedAddress(r.originalRecipient.addrType, r.originalRecipient.address, global)));
  }
  out.push(headerField('Final-Recipient', typedAddress('rfc822', r.finalRecipient, global)));
  out.push(`Action: ${r.action}`);
  out.push(`Status: ${status}`);
  if (r.remoteMta !== null && r.remoteMta.trim() !== '') out.push(headerField('Remote-MTA', `dns; ${mtaName(r.remoteMta)}`));
  // RFC 3464 §2.3.6: diagnostic-type "smtp" carries the reply as the server sent it.
  if (r.diagnostic) out.push(headerField('Diagnostic-Code', `smtp; ${diagnosticText(r.diagnostic, global)}`));
  if (r.lastAttempt) out.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
  if (r.willRetryUntil) out.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
  return out;
}

/**
 * RFC 3464 §2.1: per-message fields, then one group per recipient, each group ended by a blank
 * line. The result ends with CRLF.
 */
export function deliveryStatusBody(input: DsnInput): string {
  const global = input.smtputf8;
  const perMessage = [`Reporting-MTA: dns; ${checkHostname(input.reportingMta)}`];
  if (input.envid !== null && input.envid !== '') perMessage.push(headerField('Original-Envelope-Id', sanitize(input.envid, global)));
  perMessage.push(`Arrival-Date: ${rfc5322Date(input.arrivalDate)}`);
  const groups = [perMessage, ...input.recipients.map((r) => recipientFields(r, global))];
  return groups.map((g) => `${g.join('\r\n')}\r\n`).join('\r\n');
}
