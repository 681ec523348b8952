/**
 * The rules check through the real gateway (supervisor + 2 workers): swaks sends, smtp-sink plays
 * the LAN server. Each worker reports its rule set once (`rules.loaded`, with the SpamAssassin
 * directory's eval: rule and the operator's broken rule counted as skipped); a phishing fixture
 * arrives with the shipped MOAT_* symbols in X-Moat-Symbols; rules of a SpamAssassin local.cf
 * (header, body, meta, score, describe) and of an operator file score a message; and a runaway
 * regex (`body EVIL /(a+)+$/` on many a's and a b) cannot stall the gateway: the message comes
 * back within the budget plus a margin with RULES_BUDGET_EXCEEDED, and a message sent at the same
 * time and one sent after are served as usual.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle, type SinkMessage } from '../harness/smtp-sink.js';
import { swaks, type SwaksResult } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

const BUDGET_MS = 500;
/** Thread kill on two noisy shared cores: the pass is stopped well within this past the budget. */
const MARGIN_MS = 1500;

const message = (subject: string, body: string): string =>
  `From: alice@sender.example\r\nTo: bob@example.test\r\nSubject: ${subject}\r\nDate: Tue, 3 Jun 2025 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\s+/g, '-')}@sender.example>\r\n\r\n${body}\r\n`;

const send = (port: number, data: string): Promise<SwaksResult> => swaks({ port, from: 'alice@sender.example', to: 'bob@example.test', data });
const queued = (r: SwaksResult): boolean => r.code === 0 && r.replies.some((l) => /^250 2\.0\.0 Ok: queued as /.test(l));

/** The X-Moat-Symbols field of a delivered message, unfolded. */
const symbolsHeader = (m: SinkMessage): string => /^X-Moat-Symbols: (.*(?:\n[ \t].*)*)/m.exec(m.data)?.[1]?.replace(/\n[ \t]+/g, ' ') ?? '';

describe('rules through the gateway', () => {
  let dir: string;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;

  const delivered = (subject: string): Promise<SinkMessage> =>
    waitUntil(async () => (await lan.messages()).find((m) => m.data.includes(`Subject: ${subject}\n`)), { timeoutMs: 20_000, what: `"${subject}" at the LAN server` });

  beforeAll(async () => {
    dir = await makeScratchDir();
    const rules = join(dir, 'operator.cf');
    await writeFile(rules, ['body EVIL /(a+)+$/', 'describe EVIL Catastrophic backtracking', 'body LOCAL_HELLO /\\bhello gateway\\b/', 'score LOCAL_HELLO 0.5', 'body BROKEN /(unclosed/'].join('\n'));
    const sa = join(dir, 'spamassassin');
    await mkdir(sa);
    await writeFile(
      join(sa, 'local.cf'),
      [
        '# A migrating operator\'s SpamAssassin local rules',
        'header   SA_LOCAL_INVOICE  Subject =~ /\\bquarterly invoice\\b/i',
        'describe SA_LOCAL_INVOICE  Invoice subject',
        'score    SA_LOCAL_INVOICE  1.5',
        'body     __SA_LOCAL_WIRE   /\\bwire transfer\\b/i',
        'body     __SA_LOCAL_URGENT /\\btoday\\b/i',
        'meta     SA_LOCAL_URGENT_WIRE  __SA_LOCAL_WIRE && __SA_LOCAL_URGENT',
        'describe SA_LOCAL_URGENT_WIRE  A wire transfer asked for today',
        'score    SA_LOCAL_URGENT_WIRE  2.0',
        'header   SA_LOCAL_EVAL     eval:check_for_faraway_charset()',
        'score    SA_LOCAL_EVAL     3.0',
      ].join('\n'),
    );
    lan = await startSmtpSink();
    gw = await startGateway({ dir, relayPort: lan.port, config: { checks: { rules: { files: [rules], spamassassinDir: sa, budget: `${BUDGET_MS}ms` } } } });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('logs rules.loaded once per worker, with the skipped eval: rule and the broken rule at file:line', async () => {
    await gw.waitForEvent('rules.loaded', (e) => e['worker'] === 0);
    await gw.waitForEvent('rules.loaded', (e) => e['worker'] === 1);
    const lines = gw.events().filter((e) => e['event'] === 'rules.loaded');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ problems: 1, skipped: { 'regex-invalid': 1, eval: 1 } });
    expect(lines[0]?.['firstProblems']).toEqual([expect.stringMatching(/operator\.cf:5: BROKEN: /)]);
    expect(Number(lines[0]?.['loaded'])).toBeGreaterThan(50);
  });

  it('delivers a phishing message with the shipped MOAT_* rule symbols in X-Moat-Symbols', async () => {
    // Two traits of the phish fixture only (index.test.ts quarantines the whole of it): delivered, with its symbols.
    const body = 'Dear customer,\r\nyour account has been suspended. Verify your account at http://192.0.2.7/login to restore access.\r\n';
    const r = await send(gw.port, message('account notice', body));
    expect(queued(r)).toBe(true);
    const m = await delivered('account notice');
    const symbols = symbolsHeader(m);
    expect(symbols).toMatch(/\bMOAT_URI_NUMERIC_HOST\(/);
    expect(symbols).toMatch(/\bMOAT_PHISH_ACCOUNT_TROUBLE\(/);
    expect(m.data).toMatch(/^X-Moat-Score: /m);
  });

  it('honours the SpamAssassin local.cf (header, meta of body rules, scores) and the operator file', async () => {
    const r = await send(gw.port, message('Your quarterly invoice', 'hello gateway: please make the wire transfer today.'));
    expect(queued(r)).toBe(true);
    const m = await delivered('Your quarterly invoice');
    const symbols = symbolsHeader(m);
    expect(symbols).toContain('SA_LOCAL_INVOICE(1.5)');
    expect(symbols).toContain('SA_LOCAL_URGENT_WIRE(2)');
    expect(symbols).toContain('LOCAL_HELLO(0.5)');
    // Sub-rules (__*) are not symbols; the eval: rule was skipped.
    expect(symbols).not.toMatch(/__SA_LOCAL|SA_LOCAL_EVAL/);
    const e = await gw.waitForEvent('message.accepted', (x) => (x['symbols'] as string[] | undefined)?.includes('SA_LOCAL_INVOICE') === true);
    expect(e['score']).toBe(4);
  });

  it('stops a runaway regex within the budget plus a margin and keeps serving', async () => {
    const t0 = Date.now();
    const [evil, beside] = await Promise.all([send(gw.port, message('evil-1', `${'a'.repeat(60)}b`)), send(gw.port, message('beside-1', 'hello gateway, sent beside the evil one'))]);
    const took = Date.now() - t0;
    expect(queued(evil)).toBe(true);
    expect(queued(beside)).toBe(true);
    // Wall clock includes two swaks (Perl) starts on noisy cores; unstopped, the regex would run past policy.scanTimeout (60 s).
    expect(took).toBeLessThan(10_000);
    const e = await gw.waitForEvent('message.accepted', (x) => (x['symbols'] as string[] | undefined)?.includes('RULES_BUDGET_EXCEEDED') === true);
    expect(e['score']).toBe(0);
    // The gateway's own measure of the pass: the thread was stopped at the budget plus its grace, well within the margin.
    const explained = await waitUntil(
      async () => {
        const r = await gw.cli('explain', String(e['queueId']));
        return /RULES_BUDGET_EXCEEDED/.test(r.stdout) ? r.stdout : undefined;
      },
      { timeoutMs: 20_000, what: 'moat explain of the evil message' },
    );
    const stopped = /\(rule thread stopped in EVIL at (\d+) ms \(budget 500 ms\)\)/.exec(explained);
    expect(stopped, explained).not.toBeNull();
    expect(Number(stopped?.[1])).toBeGreaterThanOrEqual(BUDGET_MS);
    expect(Number(stopped?.[1])).toBeLessThan(BUDGET_MS + MARGIN_MS);
    expect(symbolsHeader(await delivered('evil-1'))).toContain('RULES_BUDGET_EXCEEDED(0)');
    expect(symbolsHeader(await delivered('beside-1'))).toContain('LOCAL_HELLO(0.5)');
    const after = await send(gw.port, message('after-1', 'hello gateway, after the evil one'));
    expect(queued(after)).toBe(true);
    expect(symbolsHeader(await delivered('after-1'))).toContain('LOCAL_HELLO(0.5)');
  });
});
