/**
 * Command lines to typed commands (RFC 5321 §4.1.1). The server's state machine sees only these values;
 * every syntax problem becomes its exact reply here, so the session never has to look at raw text.
 */
import { isAscii, parsePath, type Mailbox, type ReversePath } from './address.js';
import { parseMailParams, parseRcptParams, type MailParams, type ParamError, type RcptParams } from './params.js';
import * as R from './reply.js';
import type { SmtpReply } from './reply.js';

export type Command =
  | { readonly verb: 'EHLO' | 'HELO'; readonly name: string }
  | { readonly verb: 'MAIL'; readonly from: ReversePath; readonly params: MailParams }
  | { readonly verb: 'RCPT'; readonly to: Mailbox; readonly params: RcptParams }
  | { readonly verb: 'DATA' }
  | { readonly verb: 'BDAT'; readonly size: number; readonly last: boolean }
  | { readonly verb: 'RSET' | 'NOOP' | 'QUIT' | 'STARTTLS' | 'HELP' }
  | { readonly verb: 'VRFY' | 'EXPN' }
  /** RFC 4954 §4: AUTH mechanism [SP initial-response]; the response stays base64 here. */
  | { readonly verb: 'AUTH'; readonly mechanism: string; readonly initial: string | null };

export type CommandResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly reply: SmtpReply };

const fail = (reply: SmtpReply): CommandResult => ({ ok: false, reply });
const ok = (command: Command): CommandResult => ({ ok: true, command });

/** The largest BDAT chunk size we parse; the message size limit applies on top. */
const MAX_BDAT_DIGITS = 15;

function paramReply(e: ParamError): SmtpReply {
  return e.kind === 'unknown' ? R.parameterNotImplemented(e.name) : R.syntaxError(`Error: invalid ${e.name} parameter`);
}

/**
 * Parses one command line, without its CRLF. `line` is the UTF-8 decoding of the octets; callers
 * refuse octets that are not valid UTF-8 before this point.
 */
export function parseCommand(line: string): CommandResult {
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return fail(R.unrecognized());
  const sp = line.indexOf(' ');
  const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  const args = sp < 0 ? '' : line.slice(sp + 1);
  if (!isAscii(verb)) return fail(R.unrecognized());

  switch (verb) {
    case 'EHLO':
    case 'HELO': {
      // The argument is checked by policy (HELO checks); the protocol only needs one printable token.
      const name = args.trim();
      if (name === '' || /\s/.test(name) || !isAscii(name)) return fail(R.syntaxError(`Syntax: ${verb} hostname`));
      return ok({ verb, name });
    }
    case 'MAIL': {
      if (!/^FROM:/i.test(args)) return fail(R.syntaxError('Syntax: MAIL FROM:<address>'));
      const path = parsePath(args.slice(5).trimStart(), true);
      if (!path.ok) return fail(R.badSenderSyntax());
      const params = parseMailParams(path.rest);
      if (!params.ok) return fail(paramReply(params.error));
      if (path.path?.utf8 && !params.value.smtputf8) return fail(R.nonAsciiNeedsSmtpUtf8());
      if (!isAscii(path.rest) && !params.value.smtputf8) return fail(R.nonAsciiNeedsSmtpUtf8());
      return ok({ verb, from: path.path, params: params.value });
    }
    case 'RCPT': {
      if (!/^TO:/i.test(args)) return fail(R.syntaxError('Syntax: RCPT TO:<address>'));
      const path = parsePath(args.slice(3).trimStart(), false);
      if (!path.ok || path.path === null) return fail(R.badRecipientSyntax());
      const params = parseRcptParams(path.rest);
      if (!params.ok) return fail(paramReply(params.error));
      return ok({ verb, to: path.path, params: params.value });
    }
    case 'DATA':
      return args === '' ? ok({ verb }) : fail(R.syntaxError('Syntax: DATA'));
    case 'BDAT': {
      // RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
      const m = /^(\d{1,15})(?: (LAST))?$/i.exec(args);
      if (!m || (m[1]?.length ?? 0) > MAX_BDAT_DIGITS) return fail(R.syntaxError('Syntax: BDAT chunk-size [LAST]'));
      return ok({ verb, size: Number(m[1]), last: m[2] !== undefined });
    }
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      return args === '' ? ok({ verb }) : fail(R.syntaxError(`Syntax: ${verb}`));
    case 'NOOP':
    case 'HELP':
      // RFC 5321 §4.1.1.9/§4.1.1.8: an argument is allowed and ignored.
      return ok({ verb });
    case 'AUTH': {
      // sasl-mech = 1*20 (UPPER-ALPHA / DIGIT / "-" / "_") (RFC 4422 §3.1), case-insensitive on the wire.
      const m = /^([A-Za-z0-9_-]{1,20})(?: (\S+))?$/.exec(args);
      if (!m) return fail(R.syntaxError('Syntax: AUTH mechanism [initial-response]'));
      return ok({ verb, mechanism: (m[1] as string).toUpperCase(), initial: m[2] ?? null });
    }
    case 'VRFY':
    case 'EXPN':
      return args.trim() === '' ? fail(R.syntaxError(`Syntax: ${verb} address`)) : ok({ verb });
    default:
      // XEXCH50, X-LINK2STATE, XCLIENT, TURN, ETRN and every other verb: not ours.
      return /^[A-Z][A-Z0-9-]*$/.test(verb) && KNOWN_BUT_UNSUPPORTED.has(verb) ? fail(R.notImplemented()) : fail(R.unrecognized());
  }
}

/** Verbs from RFCs or vendors that we know and deliberately do not implement: 502 rather than 500. */
const KNOWN_BUT_UNSUPPORTED = new Set([
  'TURN', 'ATRN', 'ETRN', 'SEND', 'SOML', 'SAML', 'XCLIENT', 'XFORWARD', 'XEXCH50', 'X-LINK2STATE', 'X-EXPS', 'VERB', 'ONEX', 'XUSR',
]);
