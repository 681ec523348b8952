// Recipient verification against a real downstream: the harness's aiosmtpd LAN server
// (test/harness/aiosmtpd.ts: RCPT "reject*" -> 550 5.1.1, "defer*" -> 451 4.3.0), through the real prober (src/relay/verify.ts), SMTP client and SQLite state store.
// The LAN server's command log proves what was probed, how often, and that no DATA was ever sent.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLanSmtpd, type LanSmtpdHandle } from '../../../test/harness/aiosmtpd.js';
import { stopAll } from '../../../test/harness/process.js';
import { makeScratchDir, removeAllScratchDirs } from '../../../test/harness/tmp.js';
import { rcptFindings, symbols } from '../../../test/support/check-run.js';
import { systemClock } from '../../platform/clock.js';
import type { Check } from '../../pipeline/types.js';
import type { DomainConfig } from '../../relay/config.js';
import { SmtpRecipientProber } from '../../relay/verify.js';
import { connect } from '../../smtp/client/index.js';
import { SqliteStateStore } from '../../store/sqlite/state.js';
import { recipientsCheckSchema, recipientsDomainSchema } from './config.js';
import { recipientsCheck } from './index.js';

const refuse = (): Promise<never> => Promise.reject(new Error('not used here'));

let lan: LanSmtpdHandle;
let state: SqliteStateStore;
let domains: Record<string, DomainConfig>;

function check(verify: Record<string, unknown> = { sender: 'verify@mx.moat.test' }, domain: Record<string, unknown> = {}, global: Record<string, unknown> = {}): Check {
  domains = {
    'example.test': {
      relay: [`127.0.0.1:${lan.port}`],
      tls: { policy: 'none', verify: false },
      recipients: recipientsDomainSchema.parse({ sources: [{ type: 'verify', ...verify }], ...domain }),
    },
  };
  const prober = new SmtpRecipientProber({
    domains: () => domains,
    connect: (hop, tls, signal) => connect({ host: hop.host, port: hop.port, heloName: 'mx.moat.test', tls: { policy: tls.policy, verify: tls.verify }, timeouts: { connect: 3000, greeting: 3000, command: 3000 } }, signal),
  });
  return recipientsCheck(recipientsCheckSchema.parse(global), domains, { state, directory: { exists: refuse, close: refuse }, prober, readText: refuse });
}

/** RCPT commands the LAN server received for `address` (any case). */
async function probesOf(address: string): Promise<number> {
  return (await lan.commands()).filter((c) => c.verb === 'RCPT' && (c.arg ?? '').toLowerCase().includes(`<${address.toLowerCase()}>`)).length;
}

beforeAll(async () => {
  const dir = await makeScratchDir('moat-verify-');
  lan = await startLanSmtpd();
  state = new SqliteStateStore(join(dir, 'state.db'), systemClock);
});
afterAll(async () => {
  await state?.close();
  await stopAll();
  await removeAllScratchDirs();
});

describe('verification against aiosmtpd', () => {
  it('accepts an address the LAN server takes and rejects one it refuses with 5.1.1', async () => {
    const c = check();
    expect(await rcptFindings(c, 'alice@example.test')).toEqual([]);
    const miss = await rcptFindings(c, 'reject-me@example.test');
    expect(symbols(miss)).toEqual(['RCPT_USER_UNKNOWN']);
    expect(miss[0]?.detail).toMatch(/550 5\.1\.1 User unknown/);
  });

  it('caches both answers: a second RCPT causes no second probe, even in another case', async () => {
    const c = check();
    expect(await rcptFindings(c, 'cached-ok@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'reject-cached@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    expect(await probesOf('cached-ok@example.test')).toBe(1);
    expect(await probesOf('reject-cached@example.test')).toBe(1);
    // A new check instance (as after a reload) and another session still use the shared cache.
    const again = check();
    expect(await rcptFindings(again, 'Cached-OK@example.test')).toEqual([]);
    const second = await rcptFindings(again, 'REJECT-cached@example.test');
    expect(symbols(second)).toEqual(['RCPT_USER_UNKNOWN']);
    expect(second[0]?.detail).toMatch(/cached/);
    expect(await probesOf('cached-ok@example.test')).toBe(1);
    expect(await probesOf('reject-cached@example.test')).toBe(1);
  });

  it('a dictionary attack costs one probe per address, however many sessions ask at once', async () => {
    const c = check();
    const names = Array.from({ length: 6 }, (_, i) => `reject-dict${i}@example.test`);
    const asks = names.flatMap((n) => Array.from({ length: 5 }, () => rcptFindings(c, n)));
    for (const f of await Promise.all(asks)) expect(symbols(f)).toEqual(['RCPT_USER_UNKNOWN']);
    for (const n of names) expect(await probesOf(n), n).toBe(1);
  });

  it('defers on a 4xx from the LAN server and does not cache it', async () => {
    const c = check();
    const f = await rcptFindings(c, 'defer-me@example.test');
    expect(symbols(f)).toEqual(['RCPT_UNVERIFIED']);
    expect(f[0]?.detail).toMatch(/451 4\.3\.0/);
    expect(symbols(await rcptFindings(c, 'defer-me@example.test'))).toEqual(['RCPT_UNVERIFIED']);
    expect(await probesOf('defer-me@example.test')).toBe(2);
  });

  it('probes with the null sender by default (MAIL FROM:<>)', async () => {
    expect(await rcptFindings(check({}), 'nullsender@example.test')).toEqual([]);
    const i = (await lan.commands()).findIndex((x) => x.verb === 'RCPT' && /nullsender@/.test(x.arg ?? ''));
    const mail = (await lan.commands()).slice(0, i).reverse().find((x) => x.verb === 'MAIL');
    expect(mail?.arg).toMatch(/^FROM:<>/i);
  });

  it('never sends DATA and ends each probe with RSET and QUIT', async () => {
    const verbs = (await lan.commands()).map((x) => x.verb);
    expect(verbs).not.toContain('DATA');
    expect(verbs).toContain('RSET');
    expect(verbs).toContain('QUIT');
    expect(await lan.messages()).toEqual([]);
  });

  it('LAN server down: defers (4xx, never 5xx), or accepts with onUnavailable: accept; then verifies again when it returns', async () => {
    await lan.down();
    try {
      const deferring = await rcptFindings(check(), 'down1@example.test');
      expect(symbols(deferring)).toEqual(['RCPT_UNVERIFIED']);
      expect(deferring[0]?.detail).toMatch(/CONNECT_FAILED/);
      expect(symbols(await rcptFindings(check(), 'reject-down@example.test'))).toEqual(['RCPT_UNVERIFIED']);
      expect(symbols(await rcptFindings(check(undefined, { onUnavailable: 'accept' }), 'down1@example.test'))).toEqual(['RCPT_UNVERIFIED_ACCEPTED']);
    } finally {
      await lan.up();
    }
    // Nothing was cached while it was down.
    expect(await rcptFindings(check(), 'down1@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(check(), 'reject-down@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('expires cached answers after their TTL', async () => {
    const c = check(undefined, {}, { verify: { positiveTtl: '1s', negativeTtl: '1s' } });
    expect(await rcptFindings(c, 'ttl@example.test')).toEqual([]);
    expect(await rcptFindings(c, 'ttl@example.test')).toEqual([]);
    expect(await probesOf('ttl@example.test')).toBe(1);
    const key = 'recipients:verify:ttl@example.test';
    // Wait for the store's own expiry, not a fixed sleep.
    const deadline = Date.now() + 5000;
    while ((await state.get(key)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await state.get(key)).toBeNull();
    expect(await rcptFindings(c, 'ttl@example.test')).toEqual([]);
    expect(await probesOf('ttl@example.test')).toBe(2);
  });
});
