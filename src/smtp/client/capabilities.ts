/**
 * The ESMTP extensions Moat's client can use, read from an EHLO reply (RFC 5321 §4.1.1.1: the first
 * line is the server's name, each further line one keyword and its parameters). Only the keywords
 * below are recognized; every other one (AUTH, XEXCH50, X-LINK2STATE, XCLIENT, CHUNKING's BDAT use
 * ...) is ignored so that nothing the LAN server advertises can make us speak a vendor extension.
 */
import type { SmtpReply } from '../reply.js';

export interface Capabilities {
  /** False after a HELO fallback: no ESMTP at all. */
  readonly esmtp: boolean;
  /** RFC 2920. */
  readonly pipelining: boolean;
  /** RFC 1870: null when SIZE is not advertised, 0 when advertised without a fixed limit. */
  readonly size: number | null;
  /** RFC 6152. */
  readonly eightBitMime: boolean;
  /** RFC 6531. */
  readonly smtpUtf8: boolean;
  /** RFC 3461. */
  readonly dsn: boolean;
  /** RFC 3030; recorded for the relay's logs, never used (the client sends DATA only). */
  readonly chunking: boolean;
  /** RFC 3207. */
  readonly startTls: boolean;
  /** RFC 2034. */
  readonly enhancedStatusCodes: boolean;
}

/** What a server that only answered HELO supports (RFC 5321 §4.1.1.1). */
export const HELO_CAPABILITIES: Capabilities = Object.freeze({
  esmtp: false,
  pipelining: false,
  size: null,
  eightBitMime: false,
  smtpUtf8: false,
  dsn: false,
  chunking: false,
  startTls: false,
  enhancedStatusCodes: false,
});

/** RFC 1870 §3: size-param ::= [1*DIGIT]; a missing or unreadable value means "no fixed limit". */
function parseSize(param: string | undefined): number {
  if (param === undefined || !/^\d{1,20}$/.test(param)) return 0;
  const n = Number(param);
  return Number.isSafeInteger(n) ? n : 0;
}

export function parseCapabilities(ehlo: SmtpReply): Capabilities {
  const caps = { ...HELO_CAPABILITIES, esmtp: true };
  for (const line of ehlo.lines.slice(1)) {
    const [keyword = '', param] = line.trim().split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'PIPELINING': caps.pipelining = true; break;
      case 'SIZE': caps.size = parseSize(param); break;
      case '8BITMIME': caps.eightBitMime = true; break;
      case 'SMTPUTF8': caps.smtpUtf8 = true; break;
      case 'DSN': caps.dsn = true; break;
      case 'CHUNKING': caps.chunking = true; break;
      case 'STARTTLS': caps.startTls = true; break;
      case 'ENHANCEDSTATUSCODES': caps.enhancedStatusCodes = true; break;
      default: break; // Unknown and vendor keywords are ignored on purpose (DESIGN.md §1).
    }
  }
  return Object.freeze(caps);
}
