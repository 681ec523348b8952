/**
 * Console password hashes: scrypt (RFC 7914) through node:crypto, stored as
 * "scrypt$N$r$p$salt$hash" (salt and hash base64, the parameters kept beside each hash so they can
 * be raised later without invalidating old ones). Parameters follow OWASP's Password Storage Cheat
 * Sheet for scrypt: N = 2^17, r = 8, p = 1 (128 MiB and about 0.3 s per hash on one core), a 16-octet
 * random salt, a 32-octet key. At most two hashes are computed at once (each holds 128 MiB), so a
 * burst of logins queues instead of exhausting memory; the login rate limit bounds the rest.
 * Comparison is constant-time. An unknown user is checked against a dummy hash of the same cost,
 * so the answer time does not tell which user names exist.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 17, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const MAX_CONCURRENT = 2;

let running = 0;
const waiting: (() => void)[] = [];

async function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + (1 << 20) };
    return await new Promise<Buffer>((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (e, key) => (e ? reject(e) : resolve(key))));
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parse(hash: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{4,64})\$([A-Za-z0-9+/=]{4,128})$/.exec(hash);
  if (!m) return null;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // Bounds a hash planted in the store could not exceed without making every login a denial of service.
  if (params.N < 2 || params.N > 1 << 20 || (params.N & (params.N - 1)) !== 0 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return null;
  return { params, salt: Buffer.from(m[4] as string, 'base64'), key: Buffer.from(m[5] as string, 'base64') };
}

let dummy: Promise<string> | null = null;

/** Whether `password` matches `hash`; with hash null (no such user) the same work, and false. */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  const parsed = hash === null ? null : parse(hash);
  if (!parsed) {
    dummy ??= hashPassword('moat-dummy-password');
    const d = parse(await dummy);
    if (d) await derive(password, d.salt, d.params);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}
