/**
 * The password file of SMTP AUTH submitters: one "user:$scrypt$ln=14,r=8,p=1$SALT$HASH" line per
 * account (SALT and HASH base64, HASH 32 octets of scrypt(password, SALT, N=2^ln, r, p)), "#"
 * comments and empty lines ignored; `moat passwd USER` makes a line. Usernames are compared as
 * given (case-sensitive; e-mail addresses are fine). Verification runs scrypt in node's thread
 * pool and compares in constant time; an unknown user costs the same scrypt as a known one, so
 * timing does not tell which usernames exist.
 * Trusts: the file (operator's). Fails: a file that cannot be read, or a line that does not parse,
 * makes every lookup 'unavailable' (454 4.7.0: nobody is let in or locked out by a typo) and the
 * reason names the line, never its content.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** 'ok' may carry the addresses the store knows the account by (LDAP: the bound entry's mail attributes). */
export type AuthVerdict = { readonly kind: 'ok'; readonly addresses?: readonly string[] } | { readonly kind: 'invalid' } | { readonly kind: 'unavailable'; readonly reason: string };

/** Checks one username and password; never throws. */
export interface PasswordChecker {
  verify(username: string, password: string): Promise<AuthVerdict>;
}

interface Entry {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const LINE = /^([^:\s]+):\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const KEY_LENGTH = 32;
export const DEFAULT_COST = { ln: 14, r: 8, p: 1 } as const;

function derive(password: string, salt: Buffer, e: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** e.ln;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r: e.r, p: e.p, maxmem: 256 * N * e.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A password file line for `username` (a fresh 16-octet salt). */
export async function hashLine(username: string, password: string, cost: { ln: number; r: number; p: number } = DEFAULT_COST): Promise<string> {
  if (!/^[^:\s]+$/.test(username)) throw new Error('a username has no ":" and no white space');
  if (password === '') throw new Error('empty password');
  const salt = randomBytes(16);
  const hash = await derive(password, salt, cost);
  return `${username}:$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parses the file; throws with the line number of the first bad line. */
export function parsePasswordFile(text: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    const ln = Number(m?.[2]);
    if (!m || ln < 10 || ln > 20) throw new Error(`line ${i + 1}: not "user:$scrypt$ln=N,r=R,p=P$SALT$HASH" (ln 10..20)`);
    const hash = Buffer.from(m[6] as string, 'base64');
    if (hash.length !== KEY_LENGTH) throw new Error(`line ${i + 1}: the hash is not ${KEY_LENGTH} octets`);
    out.set(m[1] as string, { ln, r: Number(m[3]), p: Number(m[4]), salt: Buffer.from(m[5] as string, 'base64'), hash });
  });
  return out;
}

const DUMMY: Entry = { ...DEFAULT_COST, salt: Buffer.alloc(16), hash: Buffer.alloc(KEY_LENGTH) };

export class PasswordFile implements PasswordChecker {
  private entries: Promise<Map<string, Entry>> | null = null;

  constructor(
    private readonly path: string,
    private readonly readText: (path: string) => Promise<string>,
  ) {}

  async verify(username: string, password: string): Promise<AuthVerdict> {
    let entries: Map<string, Entry>;
    try {
      this.entries ??= this.readText(this.path).then(parsePasswordFile);
      entries = await this.entries;
    } catch (e) {
      this.entries = null;
      const code = (e as NodeJS.ErrnoException).code;
      return { kind: 'unavailable', reason: `password file ${this.path}: ${code ?? (e instanceof Error ? e.message : String(e))}` };
    }
    const entry = entries.get(username);
    const e = entry ?? DUMMY;
    const key = await derive(password, e.salt, e);
    return entry && timingSafeEqual(key, entry.hash) ? { kind: 'ok' } : { kind: 'invalid' };
  }
}
