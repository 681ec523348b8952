/**
 * The SpamAssassin check and its spamd adapter against a real spamd (local rules only, no network
 * tests, private site config; one per file): GTUBE scores about 1000 and is rejected by Moat's
 * score threshold, ham scores low and is accepted, the score is a weight the operator can scale, a
 * message over maxSize is not sent, and spamd down or hung defers with 451 4.7.1 unless fail-open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/harness/ports.js';
import { stopAll } from '../../../test/harness/process.js';
import { startSpamd, type SpamdHandle } from '../../../test/harness/spamd.js';
import { makeScratchDir, removeScratchDir } from '../../../test/harness/tmp.js';
import { dataPass, GTUBE_MESSAGE, HAM_MESSAGE, viewOf } from '../../../test/support/scan.js';
import { ScannerError } from '../../platform/scanner-io.js';
import { parseSpamdAnswer, SpamdClient, type SpamdOptions } from '../../platform/spamd.js';
import { spamassassin, spamassassinSchema } from './index.js';

let dir: string;
let spamd: SpamdHandle;

beforeAll(async () => {
  dir = await makeScratchDir('moat-spamd-test-');
  spamd = await startSpamd({ dir });
}, 90_000);
afterAll(async () => {
  await stopAll();
  await removeScratchDir(dir);
});

const client = (o: Partial<SpamdOptions> = {}): SpamdClient => new SpamdClient({ target: { host: '127.0.0.1', port: spamd.port }, timeoutMs: 20_000, maxConcurrent: 2, ...o });
const check = (config: Record<string, unknown> = {}, o: Partial<SpamdOptions> = {}) => spamassassin(spamassassinSchema.parse({ address: spamd.address, ...config }), client(o));
const RECEIVED = 'Received: from mail.sender.test ([127.0.0.10])\r\n\tby mx.moat.test with ESMTP id TESTQUEUEID; Tue, 01 Dec 2026 08:00:00 +0000\r\n';
const gtube = GTUBE_MESSAGE;
const ham = HAM_MESSAGE;

describe('spamd adapter (SPAMC/1.5 SYMBOLS)', () => {
  it('reports GTUBE as spam with its score, threshold and rules', async () => {
    const v = viewOf(gtube);
    const r = await client().check({ prefix: Buffer.alloc(0), content: v.stream(), size: v.size }, AbortSignal.timeout(20_000));
    expect(r.isSpam).toBe(true);
    expect(r.score).toBeGreaterThanOrEqual(1000);
    expect(r.threshold).toBe(5);
    expect(r.rules).toContain('GTUBE');
  });

  it('parses error answers and answers without a Spam: line as ScannerErrors', () => {
    expect(() => parseSpamdAnswer(Buffer.from('SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n'))).toThrow(/error 76: Bad header line/);
    expect(() => parseSpamdAnswer(Buffer.from('SPAMD/1.1 0 EX_OK\r\n\r\n'))).toThrow(/without a Spam: line/);
    expect(() => parseSpamdAnswer(Buffer.alloc(0))).toThrow(/without an answer/);
    expect(parseSpamdAnswer(Buffer.from('SPAMD/1.1 0 EX_OK\r\nSpam: False ; -1.0 / 5.0\r\n\r\nALL_TRUSTED,MSGID_SHORT'))).toEqual({ isSpam: false, score: -1, threshold: 5, rules: ['ALL_TRUSTED', 'MSGID_SHORT'] });
  });

  it('answers PING with SPAMD/1.5 0 PONG, and a ping to nothing throws SCANNER_UNAVAILABLE', async () => {
    await expect(client().ping(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    const e = await client({ target: { host: '127.0.0.1', port: await freePort() } })
      .ping(AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect((e as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
  });

  it('throws SCANNER_UNAVAILABLE when nothing listens, and SCANNER_TIMEOUT when spamd hangs (SIGSTOP)', async () => {
    const v = viewOf(ham);
    const down = await client({ target: { host: '127.0.0.1', port: await freePort() } })
      .check({ prefix: Buffer.alloc(0), content: v.stream(), size: v.size }, AbortSignal.timeout(20_000))
      .catch((e: unknown) => e);
    expect((down as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
    expect(spamd.process.signal('SIGSTOP')).toBe(true);
    try {
      const t0 = Date.now();
      const hung = await client({ timeoutMs: 500 })
        .check({ prefix: Buffer.alloc(0), content: v.stream(), size: v.size }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      expect((hung as ScannerError).code).toBe('SCANNER_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      spamd.process.signal('SIGCONT');
    }
  });
});

describe('spamassassin check', () => {
  it('weights SPAMD_SCORE by spamd score, so GTUBE is rejected by the score threshold', async () => {
    const r = await dataPass([check()], viewOf(gtube), { received: RECEIVED });
    const f = r.explanation.findings.find((x) => x.symbol === 'SPAMD_SCORE');
    // GTUBE is 1000 points; the other rules move it a little (ALL_TRUSTED -1 with our Received: line).
    expect(f?.score).toBeGreaterThan(990);
    expect(f?.detail).toMatch(/^(99\d|100\d)(\.\d)?\/5 spam: .*GTUBE/);
    expect(r.explanation.action).toBe('reject');
    expect(r.explanation.reason).toMatch(/^score (99\d|100\d)(\.\d+)? >= reject 15$/);
    expect(r.reply).toBe('550 5.7.1 Message rejected as spam (ref TESTQUEUEID)');
  });

  it('scores ham low and accepts it; spamd saw our Received: field', async () => {
    const r = await dataPass([check()], viewOf(ham), { received: RECEIVED });
    const f = r.explanation.findings.find((x) => x.symbol === 'SPAMD_SCORE');
    expect(f).toBeDefined();
    expect(f?.score).toBeLessThan(2);
    // With our Received: line the message was relayed by a (trusted, loopback) host; without it SA says NO_RELAYS.
    expect(f?.detail).toMatch(/ALL_TRUSTED/);
    expect(f?.detail).not.toMatch(/NO_RELAYS/);
    expect(r.explanation.action).toBe('accept');
    const bare = await dataPass([check()], viewOf(ham));
    expect(bare.details.get('SPAMD_SCORE')).toMatch(/NO_RELAYS/);
  });

  it('lets the operator scale spamd score with the symbol score (a multiplier)', async () => {
    const r = await dataPass([check()], viewOf(gtube), { policy: { symbols: { SPAMD_SCORE: { score: 0.01 } } } });
    const f = r.explanation.findings.find((x) => x.symbol === 'SPAMD_SCORE');
    expect(f?.score).toBeGreaterThan(9);
    expect(f?.score).toBeLessThan(11);
    expect(r.explanation.action).toBe('quarantine');
  });

  it('does not send a message over maxSize and reports SPAMD_SKIPPED', async () => {
    const big = viewOf(`${gtube}${'filler line\n'.repeat(200)}`);
    const r = await dataPass([check({ maxSize: 1024 })], big);
    expect(r.explanation.findings.map((f) => [f.symbol, f.detail])).toEqual([['SPAMD_SKIPPED', `${big.size} octets > 1024`]]);
    expect(r.explanation.action).toBe('accept');
  });

  it('defers with 451 4.7.1 (SPAMD_TEMPFAIL) when spamd is down, and goes on without it when failing open', async () => {
    const port = await freePort();
    const dead = () => check({ address: `127.0.0.1:${port}` }, { target: { host: '127.0.0.1', port } });
    const r = await dataPass([dead()], viewOf(gtube));
    expect(r.explanation.decidedBy?.symbol).toBe('SPAMD_TEMPFAIL');
    expect(r.reply).toBe('451 4.7.1 Try again later');
    const open = await dataPass([dead()], viewOf(gtube), { failOpen: true });
    expect(open.explanation.action).toBe('accept');
    expect(open.failedOpen.map((x) => x.check)).toEqual(['spamd']);
  });
});
