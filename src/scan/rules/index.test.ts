import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toCrlf } from '../../cli/scan-input.js';
import { shippedRuleFiles } from '../../cli/rules-gen.js';
import { validateConfig } from '../../config/load.js';
import { messageView } from '../../pipeline/message.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import { policySchema } from '../../pipeline/config.js';
import { generateShipped } from './generate.js';
import { rulesCheck, rulesSchema } from './index.js';
import { loadSourcesSync } from './loader.js';

const EML = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'eml');
const FILES = { read: (p: string) => readFile(p), list: (d: string) => readdir(d) };
const SYNC = { read: (p: string) => readFileSync(p), list: (d: string) => readdirSync(d) };
const SESSION = { id: 's', clientIp: '192.0.2.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 };
const dir = mkdtempSync(join(tmpdir(), 'moat-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One message through the rules check and the policy, as the gateway's data phase does. */
async function verdict(file: string, rules: Record<string, unknown> = {}, policy: Record<string, unknown> = {}) {
  const check = rulesCheck(rulesSchema.parse(rules), { files: FILES }, { runner: 'inline' });
  const checks = [{ check, observe: false, failOpen: false }];
  const raw = toCrlf(readFileSync(file));
  const view = messageView(raw, raw.length, async function* () {});
  const session = new PipelineSession({ checks, policy: createPolicy(checks, policySchema.parse(policy)), isLocal: () => true }, SESSION);
  const v = await session.data(view, { from: null, recipients: [] }, AbortSignal.timeout(10_000));
  return { action: v.action, score: v.score, symbols: v.findings.map((f) => f.symbol).sort(), findings: v.findings };
}

describe('rules check (corpus-style: .eml fixture → symbols and action)', () => {
  it('finds a phishing form with a suspended account and a link to a bare IP, and quarantines it', async () => {
    const v = await verdict(join(EML, 'rules', 'phish.eml'));
    expect(v.symbols).toEqual(['MOAT_HTML_FORM_REMOTE', 'MOAT_HTML_PASSWORD_FORM', 'MOAT_PHISH_ACCOUNT_TROUBLE', 'MOAT_PHISH_VERIFY_LINK', 'MOAT_URI_NUMERIC_HOST']);
    expect(v.action).toBe('quarantine');
  });

  it('sees through obfuscation: v1agra, a zero-width character, a Cyrillic letter among Latin ones', async () => {
    const v = await verdict(join(EML, 'rules', 'obfuscated.eml'));
    expect(v.symbols).toEqual(expect.arrayContaining(['MOAT_DRUG_OBFUSCATED', 'MOAT_ZERO_WIDTH_IN_WORD', 'MOAT_MIXED_SCRIPT_WORD', 'MOAT_SUBJ_MIXED_SCRIPT', 'MOAT_URGENCY']));
    expect(v.action).toBe('quarantine');
  });

  it('scores an advance-fee letter, and rejects it when the operator makes its symbol reject', async () => {
    const v = await verdict(join(EML, 'rules', 'advance-fee.eml'));
    expect(v.symbols).toEqual(['MOAT_ADVANCE_FEE', 'MOAT_SUBJ_ALL_CAPS', 'MOAT_TO_UNDISCLOSED']);
    expect(v.score).toBe(4.81);
    expect(v.action).toBe('accept');
    const r = await verdict(join(EML, 'rules', 'advance-fee.eml'), {}, { symbols: { MOAT_ADVANCE_FEE: { action: 'reject' } } });
    expect(r.action).toBe('reject');
  });

  it('lets a list newsletter through with informative bulk symbols only, and a plain ham with none', async () => {
    const v = await verdict(join(EML, 'rules', 'newsletter-ham.eml'));
    expect(v.symbols).toEqual(['MOAT_LIST_UNSUBSCRIBE', 'MOAT_UNSUBSCRIBE_TEXT']);
    expect(v.score).toBeLessThan(0.5);
    expect((await verdict(join(EML, 'ham.eml'))).symbols).toEqual([]);
  });

  it('marks an HTML-only posting through a discussion list, not the same posting with a text part', async () => {
    const file = join(EML, 'rules', 'list-html-spam.eml');
    expect((await verdict(file)).symbols).toContain('MOAT_LIST_HTML_ONLY');
    const alt = join(dir, 'list-alternative.eml');
    const raw = readFileSync(file, 'latin1').replace(/Content-Type: text\/html; charset=us-ascii\n\n([\s\S]*)$/, (_m, html: string) =>
      `Content-Type: multipart/alternative; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\nOur special report.\n--b1\nContent-Type: text/html\n\n${html}--b1--\n`);
    writeFileSync(alt, raw);
    const v = await verdict(alt);
    expect(v.symbols).not.toContain('MOAT_LIST_HTML_ONLY');
    expect(v.symbols).toContain('MOAT_LIST_UNSUBSCRIBE');
  });

  it('scores an operator rule with the score of its file, and with policy.symbols over it', async () => {
    const file = join(dir, 'local.cf');
    writeFileSync(file, 'body LOCAL_BARRISTER /\\bbarrister\\b/i\nscore LOCAL_BARRISTER 7.5\ndescribe LOCAL_BARRISTER Mentions a barrister\n');
    const v = await verdict(join(EML, 'rules', 'advance-fee.eml'), { files: [file] });
    const f = v.findings.find((x) => x.symbol === 'LOCAL_BARRISTER');
    expect(f).toMatchObject({ score: 7.5, description: 'Mentions a barrister', check: 'rules' });
    expect(v.action).toBe('quarantine');
    const w = await verdict(join(EML, 'rules', 'advance-fee.eml'), { files: [file], shipped: false }, { symbols: { LOCAL_BARRISTER: { score: 1 } } });
    expect(w.symbols).toEqual(['LOCAL_BARRISTER']);
    expect(w.score).toBe(1);
  });

  it('stops at the budget between rules with a transient RULES_BUDGET_EXCEEDED of score 0 naming the rule', async () => {
    const file = join(dir, 'slow.cf');
    // Each rule costs a few ms on this body; a 1 ms budget stops after the first.
    writeFileSync(file, ['body SLOW_A /(?:x+x+)+y/', 'body SLOW_B /(?:x+x+)+z/', 'body LATER /xxx/'].join('\n'));
    const raw = join(dir, 'slow.eml');
    writeFileSync(raw, `From: a@example.org\nSubject: s\n\n${'x'.repeat(22)}\n`);
    const v = await verdict(raw, { files: [file], shipped: false, budget: '1ms' });
    const f = v.findings.find((x) => x.symbol === 'RULES_BUDGET_EXCEEDED');
    expect(f).toMatchObject({ transient: true, score: 0 });
    expect(f?.detail).toMatch(/^stopped after SLOW_A at \d+ ms \(budget 1 ms\)$/);
    expect(v.symbols).not.toContain('LATER');
  });

  it('knows the shipped symbols statically, and the operator files only when validation read them', () => {
    const c = rulesCheck(rulesSchema.parse({}), { files: FILES });
    expect(c.symbols.map((s) => s.name)).toContain('MOAT_ADVANCE_FEE');
    const file = join(dir, 'sym.cf');
    writeFileSync(file, 'header LOCAL_SYM Subject =~ /x/\n');
    const cfg = rulesSchema.parse({ files: [file] });
    const v = rulesCheck(cfg, { files: FILES }, { preloaded: loadSourcesSync(cfg, SYNC) });
    expect(v.symbols.map((s) => s.name)).toContain('LOCAL_SYM');
  });
});

describe('config validation of rule files (check-config)', () => {
  const base = { hostname: 'mx.example.com', listen: [{ address: '127.0.0.1:2525' }], domains: { 'example.com': { relay: ['127.0.0.1:2526'] } }, dataDir: dir };

  it('refuses an unreadable rule file with the path of its setting', () => {
    const r = validateConfig({ ...base, checks: { rules: { files: [join(dir, 'nope.cf')] } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toEqual({ path: 'checks.rules.files[0]', message: `cannot read ${join(dir, 'nope.cf')}: ENOENT` });
  });

  it('accepts a file with a broken rule, warns with file:line, and knows its good rules in policy.symbols', () => {
    const file = join(dir, 'broken.cf');
    writeFileSync(file, 'body GOOD_ONE /fine/\nbody BROKEN /(unclosed/\n');
    const r = validateConfig({ ...base, checks: { rules: { files: [file] } }, policy: { symbols: { GOOD_ONE: { score: 2 } } } });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings).toEqual([{ path: 'checks.rules', message: expect.stringMatching(new RegExp(`^${file}:2: BROKEN: `)) }]);
    const bad = validateConfig({ ...base, checks: { rules: { files: [file] } }, policy: { symbols: { BROKEN: { score: 2 } } } });
    expect(bad.ok).toBe(false);
  });
});

describe('shipped rules', () => {
  it('shipped.ts is generated from rules/moat/*.cf (npm run rules:gen)', () => {
    expect(readFileSync(join(import.meta.dirname, 'shipped.ts'), 'utf8')).toBe(generateShipped(shippedRuleFiles()));
  });
});
