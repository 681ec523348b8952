/**
 * Signed links for the quarantine digest (no console login needed): a token names what it allows
 * — releasing one quarantined message to one recipient, or that recipient's self-service page —
 * and until when. Format: base64url(JSON payload) "." base64url(HMAC-SHA256(secret, "moat-link-1." +
 * payload)). The secret is 32 random octets in dataDir/link-secret, created with mode 0600 on first
 * use (two processes starting at once agree on one). Verification is constant-time and
 * checks the expiry; the payload is parsed only after the signature matched.
 * Trusts nothing in a token; a token is only as secret as the mail that carried it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';

export type LinkPayload =
  | { readonly k: 'release'; readonly id: string; readonly r: string; readonly e: number }
  | { readonly k: 'user'; readonly r: string; readonly e: number };

const PREFIX = 'moat-link-1.';

function mac(secret: Buffer, body: string): Buffer {
  return createHmac('sha256', secret).update(PREFIX).update(body).digest();
}

export function signLink(secret: Buffer, payload: LinkPayload): string {
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** The payload of a valid, unexpired token, or why not. */
export function verifyLink(secret: Buffer, token: string, now: number): { ok: true; payload: LinkPayload } | { ok: false; reason: 'invalid' | 'expired' } {
  const m = /^([A-Za-z0-9_-]{10,2000})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: 'invalid' };
  const body = m[1] as string;
  const sig = Buffer.from(m[2] as string, 'base64url');
  const want = mac(secret, body);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return { ok: false, reason: 'invalid' };
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (!isPayload(p)) return { ok: false, reason: 'invalid' };
  if (p.e * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true, payload: p };
}

function isPayload(p: unknown): p is LinkPayload {
  if (!p || typeof p !== 'object') return false;
  const o = p as Record<string, unknown>;
  if (typeof o['r'] !== 'string' || typeof o['e'] !== 'number') return false;
  if (o['k'] === 'user') return true;
  return o['k'] === 'release' && typeof o['id'] === 'string' && /^[0-9A-Za-z]{1,40}$/.test(o['id']);
}

/**
 * The link secret: read, or created (32 random octets, mode 0600) when absent. Written to a
 * private temp file and hard-linked into place, so a reader never sees a half-written secret and
 * two processes creating it at once end up with the same one.
 */
export async function loadLinkSecret(path: string): Promise<Buffer> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(randomBytes(32).toString('hex'));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path).catch((x: NodeJS.ErrnoException) => (x.code === 'EEXIST' ? undefined : Promise.reject(x)));
    await unlink(tmp);
  }
  const hex = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: not a link secret (64 hex digits); delete it to make a new one (old links stop working)`);
  return Buffer.from(hex, 'hex');
}
