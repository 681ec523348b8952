/**
 * The SASL mechanisms the engine speaks for SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN (the
 * de-facto mechanism of draft-murchison-sasl-login, still sent by Outlook and Exchange). Pure
 * decoding only: strict base64 (RFC 4954 §4: a response that is not valid base64 is refused with
 * 501 5.5.2), the PLAIN message split into authzid, authcid and password, UTF-8 checked. Nothing
 * here judges credentials: that is the handler's (policy's) job, and no decoded secret is kept or
 * logged by the engine.
 */

export type AuthMechanism = 'PLAIN' | 'LOGIN';

export const AUTH_MECHANISMS: readonly AuthMechanism[] = ['PLAIN', 'LOGIN'];

export interface AuthCredentials {
  /** PLAIN's authorization identity ('' when the client asks to act as itself). */
  readonly authzid: string;
  readonly username: string;
  readonly password: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict base64 to UTF-8 text; null when the text is not canonical base64 or not UTF-8. */
export function decodeBase64Text(text: string): string | null {
  if (!BASE64.test(text)) return null;
  try {
    return utf8.decode(Buffer.from(text, 'base64'));
  } catch {
    return null;
  }
}

export function encodeBase64Text(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd; authcid and passwd non-empty. */
export function parsePlain(decoded: string): AuthCredentials | null {
  const parts = decoded.split('\0');
  if (parts.length !== 3) return null;
  const [authzid = '', username = '', password = ''] = parts;
  if (username === '' || password === '' || username.length > 255 || password.length > 255 || authzid.length > 255) return null;
  return { authzid, username, password };
}

/** LOGIN's two prompts, base64 of "Username:" and "Password:". */
export const LOGIN_USERNAME_PROMPT = encodeBase64Text('Username:');
export const LOGIN_PASSWORD_PROMPT = encodeBase64Text('Password:');
