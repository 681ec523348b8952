/**
 * ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2 esmtp-param), typed. Moat recognizes exactly the
 * parameters of the extensions it advertises: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531),
 * RET/ENVID/NOTIFY/ORCPT (RFC 3461). Anything else is a 555; a malformed value is a 501.
 */

export type BodyType = '7BIT' | '8BITMIME';
export type DsnRet = 'FULL' | 'HDRS';
export type DsnNotify = 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface MailParams {
  readonly size: number | null;
  readonly body: BodyType | null;
  readonly smtputf8: boolean;
  readonly ret: DsnRet | null;
  /** ENVID decoded from xtext. */
  readonly envid: string | null;
  /** RFC 4954 §5 AUTH=, decoded from xtext ("<>" when the submitter is unknown); absent when not given. */
  readonly auth?: string;
}

export interface Orcpt {
  /** "rfc822" or "utf-8" (RFC 6533), lower-case. */
  readonly addrType: string;
  /** The original address, decoded from xtext (or utf-8-addr-xtext). */
  readonly address: string;
}

export interface RcptParams {
  /** null when NOTIFY was not given; [] for NOTIFY=NEVER. */
  readonly notify: readonly DsnNotify[] | null;
  readonly orcpt: Orcpt | null;
}

export type ParamError =
  | { readonly kind: 'unknown'; readonly name: string }
  | { readonly kind: 'invalid'; readonly name: string };

export type ParamResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ParamError };

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value: any CHAR except "=", SP and controls; UTF-8 allowed by RFC 6531 §3.3.
const VALUE = /^[^\x00-\x20=\x7f]+$/;

function splitParams(text: string): ParamResult<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const word of text.split(' ')) {
    if (word === '') continue; // RFC 5321 tolerates no extra spaces, but they carry no meaning.
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? null : word.slice(eq + 1);
    if (!KEYWORD.test(name) || (value !== null && !VALUE.test(value))) return { ok: false, error: { kind: 'invalid', name } };
    if (out.has(name)) return { ok: false, error: { kind: 'invalid', name } };
    out.set(name, value);
  }
  return { ok: true, value: out };
}

/** RFC 3461 §4: xtext, "+" followed by two upper-case hex digits for anything outside "!".."~", "+", "=". */
export function decodeXtext(s: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 0x3d) {
      bytes.push(c);
    } else {
      return null;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function encodeXtext(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d
      ? String.fromCharCode(byte)
      : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const invalid = <T>(name: string): ParamResult<T> => ({ ok: false, error: { kind: 'invalid', name } });

export function parseMailParams(text: string): ParamResult<MailParams> {
  const split = splitParams(text);
  if (!split.ok) return split;
  let size: number | null = null;
  let body: BodyType | null = null;
  let smtputf8 = false;
  let ret: DsnRet | null = null;
  let envid: string | null = null;
  let auth: string | null = null;
  for (const [name, value] of split.value) {
    switch (name) {
      case 'AUTH': {
        const decoded = value === null || value.length > 500 ? null : decodeXtext(value);
        if (decoded === null || decoded === '') return invalid(name);
        auth = decoded;
        break;
      }
      case 'SIZE':
        // RFC 1870: size-value ::= 1*20DIGIT
        if (value === null || !/^\d{1,20}$/.test(value)) return invalid(name);
        size = Number(value);
        break;
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return v === 'BINARYMIME' ? { ok: false, error: { kind: 'unknown', name: 'BODY=BINARYMIME' } } : invalid(name);
        body = v;
        break;
      }
      case 'SMTPUTF8':
        if (value !== null) return invalid(name);
        smtputf8 = true;
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return invalid(name);
        ret = v;
        break;
      }
      case 'ENVID': {
        // RFC 3461 §4.4: at most 100 characters of xtext.
        const decoded = value === null || value.length > 100 ? null : decodeXtext(value);
        if (decoded === null || decoded === '') return invalid(name);
        envid = decoded;
        break;
      }
      default:
        return { ok: false, error: { kind: 'unknown', name } };
    }
  }
  return { ok: true, value: Object.freeze({ size, body, smtputf8, ret, envid, ...(auth === null ? {} : { auth }) }) };
}

export function parseRcptParams(text: string): ParamResult<RcptParams> {
  const split = splitParams(text);
  if (!split.ok) return split;
  let notify: DsnNotify[] | null = null;
  let orcpt: Orcpt | null = null;
  for (const [name, value] of split.value) {
    switch (name) {
      case 'NOTIFY': {
        // RFC 3461 §4.1: "NEVER" alone, or a comma list of SUCCESS, FAILURE, DELAY.
        const items = value?.toUpperCase().split(',') ?? [];
        if (items.length === 1 && items[0] === 'NEVER') notify = [];
        else if (items.length > 0 && items.every((i) => i === 'SUCCESS' || i === 'FAILURE' || i === 'DELAY') && new Set(items).size === items.length)
          notify = items as DsnNotify[];
        else return invalid(name);
        break;
      }
      case 'ORCPT': {
        // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
        const semi = value?.indexOf(';') ?? -1;
        if (value === null || value === undefined || semi <= 0 || value.length > 500) return invalid(name);
        const addrType = value.slice(0, semi).toLowerCase();
        const raw = value.slice(semi + 1);
        const address = value.slice(0, semi).toLowerCase() === 'utf-8' ? decodeUtf8AddrXtext(raw) : decodeXtext(raw);
        if (!/^[a-z0-9-]+$/.test(addrType) || address === null || address === '') return invalid(name);
        orcpt = { addrType, address };
        break;
      }
      default:
        return { ok: false, error: { kind: 'unknown', name } };
    }
  }
  return { ok: true, value: Object.freeze({ notify, orcpt }) };
}

/**
 * RFC 6533 §3: an ORCPT of type "utf-8" carries utf-8-addr-xtext: printable ASCII except "+", "=" and
 * "\\" as is, anything else as "\\x{HEX}" (and, with SMTPUTF8, raw UTF-8, which we accept but never send).
 */
export function decodeUtf8AddrXtext(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) {
      const m = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(s.slice(i));
      const cp = m ? parseInt(m[1] as string, 16) : NaN;
      if (!m || !(cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      out += String.fromCodePoint(cp);
      i += m[0].length - 1;
    } else if ((c >= 0x21 && c <= 0x7e && c !== 0x2b && c !== 0x3d) || c >= 0x80) {
      out += s[i];
    } else {
      return null;
    }
  }
  return out;
}

export function encodeUtf8AddrXtext(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    out += cp >= 0x21 && cp <= 0x7e && ch !== '+' && ch !== '=' && ch !== '\\' ? ch : `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return out;
}

export function formatOrcpt(o: Orcpt): string {
  return `${o.addrType};${o.addrType === 'utf-8' ? encodeUtf8AddrXtext(o.address) : encodeXtext(o.address)}`;
}
