/**
 * Whether a DSN is owed at all, and how much of the original it returns. Pure rules from RFC 3461
 * and RFC 5321; the queue asks these before it reads the original or builds anything.
 * Trusts its arguments to come from the parsers in src/smtp (params.ts, address.ts). Never throws.
 */
import type { DsnNotify, DsnRet } from '../smtp/params.js';

export type { DsnNotify, DsnRet };

/**
 * What a DSN reports, as a whole; it picks the subject and the opening text. 'relayed' is the
 * RFC 3461 §6.2.3.1 notice for a recipient handed to a server that takes no DSN requests.
 */
export type DsnKind = 'failed' | 'delayed' | 'delivered' | 'relayed';

/**
 * RFC 3461 §4.1: without NOTIFY an MTA behaves as if NOTIFY=FAILURE,DELAY was given; NOTIFY=NEVER
 * (the parser's []) asks for nothing. A success notice ('delivered', 'relayed') needs SUCCESS.
 */
export function shouldNotify(notify: readonly DsnNotify[] | null, kind: DsnKind): boolean {
  const wanted: DsnNotify = kind === 'failed' ? 'FAILURE' : kind === 'delayed' ? 'DELAY' : 'SUCCESS';
  return (notify ?? ['FAILURE', 'DELAY']).includes(wanted);
}

/**
 * RFC 5321 §6.1 and §4.5.5: a message from the null reverse path ("<>") never causes a
 * notification, so that two mail systems cannot bounce a bounce at each other forever. The
 * sender is the envelope's MAIL FROM address without angle brackets; '' is the null path.
 */
export function isBounceable(sender: string): boolean {
  return sender.trim() !== '' && sender.trim() !== '<>';
}

/**
 * How much of the original goes back (RFC 3461 §4.3). RET=FULL asks for the whole message in a
 * *failure* DSN only; delay and success notices carry the headers, as does a failure without RET:
 * the sender still has the message, and returning 25 MB to them helps nobody. Callers may read only
 * the header block of the original from disk when this says 'HDRS'.
 */
export function returnedContent(ret: DsnRet | null, kind: DsnKind): DsnRet {
  return kind === 'failed' && ret === 'FULL' ? 'FULL' : 'HDRS';
}
