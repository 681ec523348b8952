import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signLink, verifyLink } from './signed-link.js';

const secret = randomBytes(32);
const payload = { k: 'release', id: '0MX4K9PQI134CC636', r: 'carol@example.test', e: 2_000_000 } as const;
// e is in seconds; now in milliseconds.
const BEFORE = 1_000_000_000;

describe('signed digest links', () => {
  it('verifies its own token and returns the payload', () => {
    const r = verifyLink(secret, signLink(secret, payload), BEFORE);
    expect(r).toEqual({ ok: true, payload });
  });

  it('refuses a token past its expiry as expired', () => {
    expect(verifyLink(secret, signLink(secret, payload), 2_000_000_001)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a changed payload, a changed signature, another secret and garbage as invalid', () => {
    const t = signLink(secret, payload);
    const [body, sig] = t.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ ...payload, r: 'mallory@example.test' })).toString('base64url');
    expect(verifyLink(secret, `${other}.${sig}`, BEFORE)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyLink(secret, `${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`, BEFORE)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyLink(randomBytes(32), t, BEFORE)).toEqual({ ok: false, reason: 'invalid' });
    for (const bad of ['', '.', 'abc', `${body}.`, `${body}.${sig}.x`]) expect(verifyLink(secret, bad, BEFORE).ok).toBe(false);
  });
});
