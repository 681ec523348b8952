/**
 * Envelope addresses (RFC 5321 §4.1.2, §4.5.3.1; RFC 6531 §3.3 for UTF-8). Strict: what does not match
 * the grammar is refused, never repaired. Source routes are accepted and dropped (RFC 5321 §4.1.1.3,
 * Appendix C). Results are branded so code past the parser can trust them.
 */
import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A domain in lower-case ASCII (A-labels), or an address literal such as "[192.0.2.1]". */
export type Domain = Brand<string, 'Domain'>;

export interface Mailbox {
  /** The local part exactly as received (quoted form kept), never case-folded (RFC 5321 §2.4). */
  readonly local: string;
  readonly domain: Domain;
  /** The domain as the client wrote it (may hold U-labels with SMTPUTF8). */
  readonly domainAsWritten: string;
  /** Whether the local part or domain holds non-ASCII text (needs SMTPUTF8, RFC 6531). */
  readonly utf8: boolean;
  /** True when the domain is an address literal ("[…]"). */
  readonly literal: boolean;
}

/** MAIL FROM: null ("<>", bounces) or a mailbox. */
export type ReversePath = Mailbox | null;

export const LIMITS = { localPart: 64, domain: 255, path: 256 } as const;

export type AddressError = 'syntax' | 'too-long';

// RFC 5322 atext plus RFC 6531 UTF8-non-ascii.
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+$/u;
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const LET_DIG_LABEL = /^[A-Za-z0-9\u0080-\u{10ffff}](?:[A-Za-z0-9\-\u0080-\u{10ffff}]*[A-Za-z0-9\u0080-\u{10ffff}])?$/u;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isAscii(s: string): boolean {
  return ASCII_ONLY.test(s);
}

function parseLocalPart(s: string): boolean {
  if (s.length === 0) return false;
  if (s.startsWith('"')) {
    // Quoted-string: DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE
    if (s.length < 2 || !s.endsWith('"')) return false;
    const inner = s.slice(1, -1);
    for (let i = 0; i < inner.length; i++) {
      const c = inner.charCodeAt(i);
      if (c === 0x5c) {
        const n = inner.charCodeAt(++i);
        if (!(n >= 32 && n <= 126)) return false;
      } else if (c === 0x22) {
        return false;
      } else if (!((c >= 32 && c <= 126) || c >= 0x80)) {
        return false;
      }
    }
    return true;
  }
  return s.split('.').every((atom) => ATEXT.test(atom));
}

/** RFC 5321 address-literal: IPv4, "IPv6:" followed by an IPv6 address, or a general literal. */
function parseAddressLiteral(s: string): boolean {
  const inner = s.slice(1, -1);
  if (IPV4.test(inner)) return true;
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5));
  return false;
}

/** Parses a domain (or address literal) into its canonical form, or null when it is not one. */
export function parseDomain(s: string): Domain | null {
  if (s.length === 0 || s.length > LIMITS.domain) return null;
  if (s.startsWith('[')) {
    if (!s.endsWith(']') || !parseAddressLiteral(s)) return null;
    return s.toLowerCase() as Domain;
  }
  // No trailing dot, no empty label, each label a Let-dig [Ldh-str] (RFC 5321 §4.1.2 sub-domain).
  const labels = s.split('.');
  if (!labels.every((l) => l.length > 0 && l.length <= 63 && LET_DIG_LABEL.test(l))) return null;
  const ascii = isAscii(s) ? s.toLowerCase() : domainToASCII(s.toLowerCase());
  if (!ascii || ascii.length > LIMITS.domain) return null;
  return ascii as Domain;
}

/** Splits "local@domain" at the last "@" that is not inside a quoted local part. */
function splitMailbox(s: string): [string, string] | null {
  let inQuote = false;
  let at = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && inQuote) i++;
    else if (c === '"') inQuote = !inQuote;
    else if (c === '@' && !inQuote) at = i;
  }
  if (at <= 0 || inQuote) return null;
  return [s.slice(0, at), s.slice(at + 1)];
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AddressError };

export function parseMailbox(s: string): ParseResult<Mailbox> {
  const parts = splitMailbox(s);
  if (!parts) return { ok: false, error: 'syntax' };
  const [local, domainText] = parts;
  if (Buffer.byteLength(local) > LIMITS.localPart) return { ok: false, error: 'too-long' };
  if (!parseLocalPart(local)) return { ok: false, error: 'syntax' };
  const domain = parseDomain(domainText);
  if (!domain) return { ok: false, error: 'syntax' };
  return {
    ok: true,
    value: Object.freeze({
      local,
      domain,
      domainAsWritten: domainText,
      utf8: !isAscii(local) || !isAscii(domainText),
      literal: domain.startsWith('['),
    }),
  };
}

/**
 * Parses a Path ("<…>") as it follows "FROM:" or "TO:". Returns the mailbox (null for "<>" when
 * allowed) and the rest of the line (the ESMTP parameters).
 */
export function parsePath(
  text: string,
  allowNull: boolean,
): { ok: true; path: Mailbox | null; rest: string } | { ok: false; error: AddressError } {
  if (!text.startsWith('<')) return { ok: false, error: 'syntax' };
  // Find the closing ">" outside a quoted local part.
  let inQuote = false;
  let end = -1;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && inQuote) i++;
    else if (c === '"') inQuote = !inQuote;
    else if (c === '>' && !inQuote) {
      end = i;
      break;
    }
  }
  if (end < 0) return { ok: false, error: 'syntax' };
  const rest = text.slice(end + 1);
  if (rest.length > 0 && !rest.startsWith(' ')) return { ok: false, error: 'syntax' };
  let inner = text.slice(1, end);
  if (Buffer.byteLength(inner) > LIMITS.path - 2) return { ok: false, error: 'too-long' };
  if (inner === '') {
    return allowNull ? { ok: true, path: null, rest: rest.trimStart() } : { ok: false, error: 'syntax' };
  }
  // A-d-l ":" — source route, accepted and ignored (RFC 5321 §4.1.1.3).
  if (inner.startsWith('@')) {
    const colon = inner.indexOf(':');
    if (colon < 0) return { ok: false, error: 'syntax' };
    const route = inner.slice(0, colon).split(',');
    if (!route.every((hop) => hop.startsWith('@') && parseDomain(hop.slice(1)) !== null)) return { ok: false, error: 'syntax' };
    inner = inner.slice(colon + 1);
  }
  const mb = parseMailbox(inner);
  return mb.ok ? { ok: true, path: mb.value, rest: rest.trimStart() } : mb;
}

/** The address as Moat writes it in an envelope toward the LAN server and in logs. */
export function formatMailbox(m: Mailbox): string {
  return `${m.local}@${m.domainAsWritten}`;
}

/**
 * Local parts that carry a route of their own: the percent hack ("user%other@us"), UUCP bang paths
 * ("other!user@us") and a quoted "@" ("\"user@other\"@us"). A downstream that still honours these
 * would turn us into a relay, so the relay guard refuses them.
 */
export function hasRoutingLocalPart(m: Mailbox): boolean {
  return /[%!@]/.test(m.local);
}
