/**
 * One URL candidate (from text or an HTML attribute) parsed the way a browser would parse it:
 * WHATWG URL (node:url), which lower-cases the host, maps it through IDNA to A-labels (UTS #46),
 * reads "\" as "/", percent-decodes the host and reads IPv4 numbers in decimal, octal, hex and
 * short forms (http://3232235777/, http://0x7f.1/ → 192.168.1.1, 127.0.0.1). What the browser
 * would hide, we note: the kinds of obfuscation the raw text used, userinfo before the host
 * (http://bank.example@evil.example/), IP literals. The registrable domain comes from the
 * public suffix list (tldts, ICANN and private sections: evil.github.io is its own domain).
 * Trusts nothing; never throws (a candidate that does not parse is dropped).
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { parse as parseDomain } from 'tldts';
import { UNICODE_DOTS, ZERO_WIDTH, type ObfuscationKind } from './deobfuscate.js';

export interface ParsedUrl {
  /** WHATWG serialisation: lower-case A-label host, default port dropped, path percent-encoded. */
  readonly url: string;
  /** The candidate as it was parsed (text obfuscations undone, not yet normalised): `uri` rules read it beside `url`. */
  readonly written: string;
  /** Lower-case; A-labels for IDNs; IPv6 in brackets. */
  readonly host: string;
  /** By the public suffix list; null for IP literals and hosts under no known suffix. */
  readonly registrableDomain: string | null;
  /** The host is an IP literal: the canonical address (IPv4 dotted quad, or IPv6 without brackets). */
  readonly ip: string | null;
  /** Userinfo before the host (user[:password]@), decoded; null when none. */
  readonly userinfo: string | null;
  readonly obfuscations: readonly ObfuscationKind[];
  /** The public suffix is a real one (ICANN or private section), not a guess. */
  readonly knownSuffix: boolean;
}

const SCHEMES = new Set(['http:', 'https:', 'ftp:']);
const DOTTED_QUAD = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The authority's host as written: after the scheme and slashes, after the last "@", before a port. */
function rawHostOf(s: string): { host: string; backslash: boolean } {
  const m = /^[a-z][a-z0-9+.-]*:([\\/]*)([^\\/?#]*)/i.exec(s);
  if (!m) return { host: '', backslash: false };
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.replace(/:\d*$/, '');
  return { host, backslash: (m[1] ?? '').includes('\\') };
}

/**
 * Parses an absolute URL (or a relative one against `base`). Only http, https and ftp URLs
 * count: mailto:, tel:, cid:, data: and javascript: lead to no host to judge.
 */
export function parseUrl(candidate: string, base?: string): ParsedUrl | null {
  let u: URL;
  try {
    u = base === undefined ? new URL(candidate) : new URL(candidate, base);
  } catch {
    return null;
  }
  if (!SCHEMES.has(u.protocol) || u.hostname === '') return null;
  const host = u.hostname;
  const obfuscations = new Set<ObfuscationKind>();
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(candidate);
  const raw = absolute ? rawHostOf(candidate) : { host: '', backslash: false };
  if (raw.backslash) obfuscations.add('backslash');
  if (raw.host.includes('%')) obfuscations.add('percent-host');
  if (ZERO_WIDTH.test(raw.host)) obfuscations.add('zero-width');
  if (UNICODE_DOTS.test(raw.host)) obfuscations.add('unicode-dot');
  if (/[\uFF01-\uFF5E]/.test(raw.host)) obfuscations.add('fullwidth');
  let ip: string | null = null;
  if (host.startsWith('[')) ip = host.slice(1, -1);
  else if (DOTTED_QUAD.test(host)) {
    ip = host;
    const written = raw.host.toLowerCase().replace(/\.$/, '');
    if (absolute && written !== host && !obfuscations.has('percent-host')) obfuscations.add('ip-encoded');
  }
  const d = ip === null ? parseDomain(host, { allowPrivateDomains: true, extractHostname: false }) : null;
  const userinfo = u.username !== '' || u.password !== '' ? safeDecode(u.password === '' ? u.username : `${u.username}:${u.password}`) : null;
  return {
    url: u.href,
    written: candidate,
    host,
    registrableDomain: d?.domain ?? null,
    ip,
    userinfo,
    obfuscations: [...obfuscations],
    knownSuffix: d !== null && (d.isIcann === true || d.isPrivate === true),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A host as a lower-case A-label name ('' when IDNA refuses it), as the DNS wants it. */
export function asciiHost(host: string): string {
  return domainToASCII(host.replace(/\.$/, ''));
}

/** A-labels back to Unicode for display and script checks. */
export function unicodeHost(host: string): string {
  return domainToUnicode(host);
}

/** The registrable domain of a bare host name (e.g. a link's visible text), null when none. */
export function registrableOf(host: string): string | null {
  const a = asciiHost(host);
  if (a === '') return null;
  const d = parseDomain(a, { allowPrivateDomains: true, extractHostname: false });
  return d.isIcann === true || d.isPrivate === true ? d.domain : null;
}
