// Debian's own SpamAssassin rules (/usr/share/spamassassin, package spamassassin, installed by
// scripts/install-test-deps.sh) loaded as a `spamassassinDir`: what loads, what is skipped and
// why, and that the rules that load work (GTUBE on the GTUBE string, nothing on a plain ham).
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCrlf } from '../../cli/scan-input.js';
import { messageView } from '../../pipeline/message.js';
import { SESSION_FOR_TESTS } from './test-session.js';
import { compileRules } from './compiler.js';
import { rulesCheck, rulesSchema } from './index.js';
import { loadSourcesSync } from './loader.js';

const SA = '/usr/share/spamassassin';
const EML = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'eml');
// A budget far beyond the default 500 ms: this test is about which rules fire, and a busy CI machine
// can spend more than 500 ms on SpamAssassin's 800 rules (the budget has tests of its own, thread.test.ts).
const config = rulesSchema.parse({ spamassassinDir: SA, shipped: false, budget: '20s' });

describe("SpamAssassin's own rules as a spamassassinDir", () => {
  it('loads the rules Moat can run and counts the rest by reason', () => {
    const loaded = loadSourcesSync(config, { read: (p) => readFileSync(p), list: (d) => readdirSync(d) });
    expect(loaded.unreadable).toEqual([]);
    expect(loaded.sources.length).toBe(readdirSync(SA).filter((f) => f.endsWith('.cf')).length);
    const { set, report } = compileRules(loaded.sources, { scoreSet: 3, taken: new Set() });
    // Figures of Debian 12's spamassassin 4.0 (documented in docs/rules.md); bounds so that a rules update does not break the test.
    expect(report.loaded).toBeGreaterThan(800);
    expect(report.symbols).toBeGreaterThan(300);
    // Most eval: rules sit in ifplugin blocks of plugins Moat does not emulate.
    expect(report.skipped.plugin ?? 0).toBeGreaterThan(300);
    expect(report.skipped.lang ?? 0).toBeGreaterThan(1000);
    expect(report.skipped['meta-missing-rule'] ?? 0).toBeGreaterThan(100);
    expect(report.problems).toEqual([]);
    expect(set.symbols.find((s) => s.name === 'GTUBE')?.score).toBe(1000);
  });

  it('fires GTUBE on the GTUBE string and leaves a plain ham alone', async () => {
    const check = rulesCheck(config, { files: { read: (p) => readFile(p), list: (d) => readdir(d) } }, { runner: 'inline' });
    const scan = async (file: string): Promise<string[]> => {
      const raw = toCrlf(readFileSync(file));
      const f = await check.open(SESSION_FOR_TESTS.session).data?.(messageView(raw, raw.length, async function* () {}), SESSION_FOR_TESTS, AbortSignal.timeout(30_000));
      return (f ?? []).map((x) => x.symbol);
    };
    expect(await scan(join(EML, 'rules', 'gtube.eml'))).toContain('GTUBE');
    expect(await scan(join(EML, 'ham.eml'))).not.toContain('GTUBE');
    const { report } = await check.loaded();
    expect(report.loaded).toBeGreaterThan(800);
  });
});
