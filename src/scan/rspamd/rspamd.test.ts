/**
 * The Rspamd check and its HTTP adapter against a real Rspamd (private config tree, every DNS query
 * to the test's dnsmasq; one Rspamd for the whole file because a cold start compiles hyperscan for
 * up to a minute): GTUBE reaches Rspamd's reject score and Moat's reject threshold, ham scores low,
 * the envelope goes along (Rspamd compares it with the headers), Rspamd's action decides only with
 * honourActions, and Rspamd down or hung defers with 451 4.7.1 unless fail-open. End to end: the
 * real gateway with Rspamd refuses GTUBE with 550 5.7.1 in the SMTP conversation and delivers ham
 * with RSPAMD_SCORE in its verdict header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../../../test/harness/dnsmasq.js';
import { freePort } from '../../../test/harness/ports.js';
import { stopAll } from '../../../test/harness/process.js';
import { startRspamd, type RspamdHandle } from '../../../test/harness/rspamd.js';
import { startSmtpSink, type SmtpSinkHandle } from '../../../test/harness/smtp-sink.js';
import { swaks } from '../../../test/harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../../../test/harness/tmp.js';
import { waitUntil } from '../../../test/harness/wait.js';
import { processTree, startGateway, type GatewayProcess } from '../../../test/support/gateway-process.js';
import { crlf, dataPass, GTUBE_MESSAGE, HAM_MESSAGE, viewOf } from '../../../test/support/scan.js';
import { RspamdClient, parseRspamdAnswer, type RspamdOptions } from '../../platform/rspamd.js';
import { ScannerError } from '../../platform/scanner-io.js';
import { rspamd, rspamdSchema } from './index.js';

let dir: string;
let dns: DnsmasqHandle;
let rs: RspamdHandle;

beforeAll(async () => {
  dir = await makeScratchDir('moat-rspamd-test-');
  dns = await startDnsmasq({}, { logQueries: true });
  rs = await startRspamd({ dnsServer: dns.server, dir });
}, 200_000);
afterAll(async () => {
  await stopAll();
  await removeScratchDir(dir);
});

const client = (o: Partial<RspamdOptions> = {}): RspamdClient => new RspamdClient({ url: new URL(rs.url), timeoutMs: 20_000, maxConcurrent: 4, ...o });
const check = (config: Record<string, unknown> = {}, o: Partial<RspamdOptions> = {}) => rspamd(rspamdSchema.parse({ url: rs.url, ...config }), client(o));
const gtube = GTUBE_MESSAGE;
const ham = HAM_MESSAGE;
const envelope = { ip: '127.0.0.10', helo: 'mail.sender.test', from: 'alice@sender.test', rcpt: ['bob@example.test'], queueId: 'TESTQUEUEID' };

describe('rspamd adapter (POST /checkv2)', () => {
  it('gets a reject-level score for GTUBE', async () => {
    const v = viewOf(gtube);
    const r = await client().check({ content: v.stream(), size: v.size, envelope }, AbortSignal.timeout(20_000));
    expect(r.action).toBe('reject');
    expect(r.score).toBeGreaterThanOrEqual(r.requiredScore);
    expect(r.symbols.map((s) => s.name)).toContain('GTUBE');
  });

  it('sends the envelope: Rspamd compares MAIL FROM and RCPT with the header fields', async () => {
    const v = viewOf(ham);
    const same = await client().check({ content: v.stream(), size: v.size, envelope }, AbortSignal.timeout(20_000));
    const names = same.symbols.map((s) => s.name);
    expect(names).toContain('FROM_EQ_ENVFROM');
    expect(names).toContain('TO_MATCH_ENVRCPT_ALL');
    const other = await client().check({ content: v.stream(), size: v.size, envelope: { ...envelope, from: 'bounce-123@lists.test', rcpt: ['carol@example.test'] } }, AbortSignal.timeout(20_000));
    const otherNames = other.symbols.map((s) => s.name);
    expect(otherNames).toContain('FROM_NEQ_ENVFROM');
    expect(otherNames).not.toContain('TO_MATCH_ENVRCPT_ALL');
  });

  it('turns error answers and other shapes into ScannerErrors', () => {
    expect(() => parseRspamdAnswer(500, Buffer.from('{"error":"invalid command","error_domain":"protocol-error"}'))).toThrow(/HTTP 500: invalid command/);
    expect(() => parseRspamdAnswer(200, Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => parseRspamdAnswer(200, Buffer.from('{"score":"high"}'))).toThrow(/unexpected shape/);
  });

  it('answers GET /ping with pong, and a ping to nothing throws SCANNER_UNAVAILABLE', async () => {
    await expect(client().ping(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    const e = await client({ url: new URL(`http://127.0.0.1:${await freePort()}`) })
      .ping(AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect((e as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
  });

  it('throws SCANNER_UNAVAILABLE when nothing listens, and SCANNER_TIMEOUT when Rspamd hangs (SIGSTOP)', async () => {
    const v = viewOf(ham);
    const port = await freePort();
    const down = await client({ url: new URL(`http://127.0.0.1:${port}`) })
      .check({ content: v.stream(), size: v.size, envelope }, AbortSignal.timeout(20_000))
      .catch((e: unknown) => e);
    expect((down as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
    // The normal worker answers, not the main process: stop the whole tree we started.
    const pids = processTree(rs.process.pid);
    for (const p of pids) process.kill(p, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await client({ timeoutMs: 500 })
        .check({ content: v.stream(), size: v.size, envelope }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      expect((hung as ScannerError).code).toBe('SCANNER_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const p of pids) process.kill(p, 'SIGCONT');
    }
  });
});

describe('rspamd check', () => {
  it('weights RSPAMD_SCORE by Rspamd score: GTUBE reaches Moat reject threshold; its action only informs by default', async () => {
    const r = await dataPass([check()], viewOf(gtube));
    expect(r.explanation.findings.map((f) => [f.symbol, f.score, f.action])).toEqual([
      ['RSPAMD_SCORE', 15, null],
      ['RSPAMD_ACTION_REJECT', 0, null],
    ]);
    expect(r.details.get('RSPAMD_SCORE')).toMatch(/^15\/15 reject: .*GTUBE\(0\)/);
    expect(r.explanation.reason).toBe('score 15 >= reject 15');
    expect(r.reply).toBe('550 5.7.1 Message rejected as spam (ref TESTQUEUEID)');
  });

  it("lets Rspamd's action decide with honourActions", async () => {
    const r = await dataPass([check({ honourActions: true })], viewOf(gtube), { policy: { actions: { reject: null } } });
    expect(r.explanation.decidedBy?.symbol).toBe('RSPAMD_ACTION_REJECT');
    expect(r.details.get('RSPAMD_ACTION_REJECT')).toBe('reject: Gtube pattern');
    expect(r.reply).toBe('550 5.7.1 Message rejected by policy');
  });

  it('scores ham low and accepts it', async () => {
    const r = await dataPass([check()], viewOf(ham));
    const f = r.explanation.findings.find((x) => x.symbol === 'RSPAMD_SCORE');
    expect(f).toBeDefined();
    expect(Math.abs(f?.score ?? 99)).toBeLessThan(2);
    expect(r.explanation.findings.map((x) => x.symbol)).toEqual(['RSPAMD_SCORE']);
    expect(r.explanation.action).toBe('accept');
  });

  it('does not send a message over maxSize and reports RSPAMD_SKIPPED', async () => {
    const big = viewOf(`${gtube}${'filler line\n'.repeat(200)}`);
    const r = await dataPass([check({ maxSize: 1024 })], big);
    expect(r.explanation.findings.map((f) => [f.symbol, f.detail])).toEqual([['RSPAMD_SKIPPED', `${big.size} octets > 1024`]]);
  });

  it('defers with 451 4.7.1 (RSPAMD_TEMPFAIL) when Rspamd is down, and goes on without it when failing open', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const dead = () => check({ url }, { url: new URL(url) });
    const r = await dataPass([dead()], viewOf(gtube));
    expect(r.explanation.decidedBy?.symbol).toBe('RSPAMD_TEMPFAIL');
    expect(r.reply).toBe('451 4.7.1 Try again later');
    const open = await dataPass([dead()], viewOf(gtube), { failOpen: true });
    expect(open.explanation.action).toBe('accept');
    expect(open.failedOpen.map((x) => x.check)).toEqual(['rspamd']);
  });

  it('sent every DNS query to the test dnsmasq, none elsewhere (rspamd has no other resolver)', async () => {
    // dnsmasq logs each query it got; Rspamd asks for its remote maps soon after start (and is
    // REFUSED) — on its own timer, so wait for that query rather than assume it came already.
    await waitUntil(() => dns.process.lines().some((l) => /query\[A+\] maps\.rspamd\.com/.test(l)), { timeoutMs: 60_000, what: 'rspamd asking the test dnsmasq for maps.rspamd.com' });
  }, 90_000);
});

describe('rspamd through the gateway', () => {
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    lan = await startSmtpSink();
    gw = await startGateway({ dir: await makeScratchDir('moat-rspamd-gw-'), relayPort: lan.port, config: { rspamd: { url: rs.url } } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses GTUBE with 550 5.7.1 in the conversation and delivers nothing', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@sender.test', to: 'bob@example.test', data: crlf(gtube) });
    expect(r.replies.some((x) => /^550 5\.7\.1 Message rejected as spam/.test(x))).toBe(true);
    const ev = await gw.waitForEvent('message.rejected', (e) => e['from'] === 'alice@sender.test');
    expect(ev['symbols']).toEqual(['RSPAMD_SCORE', 'RSPAMD_ACTION_REJECT']);
    expect(ev['score']).toBe(15);
    expect(await lan.messages()).toEqual([]);
  });

  it('delivers ham with RSPAMD_SCORE in its verdict header', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@sender.test', to: 'bob@example.test', data: crlf(ham) });
    expect(r.replies.some((x) => x.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    const [m] = await lan.waitForMessages(1, 20_000);
    expect(m?.data).toMatch(/^X-Moat-Symbols: .*RSPAMD_SCORE/m);
    expect(m?.data).toContain('Lunch on Thursday');
  });
});
