// The Bayes tokenizer version marker end to end, with the real SQLite store: a database learned as
// a Moat from before version markers learned it (tokens without the marker, written with
// SqliteBayesStore directly) makes the gateway log one bayes.tokenizer warning at start-up and
// `moat scan` and `moat learn` say so on stderr; a database learned by this Moat's `moat learn`
// says nothing. No DNS: the content checks make no lookups (dead loopback port, as gateway-process).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageView } from '../../src/pipeline/message.js';
import { tokenize, TOKENIZER_VERSION } from '../../src/scan/bayes/tokenize.js';
import { tokenHash } from '../../src/store/bayes.js';
import { SqliteBayesStore } from '../../src/store/sqlite/bayes.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

let dir = '';
let gw: GatewayProcess;

const message = (kind: 'spam' | 'ham', i: number): string =>
  kind === 'spam'
    ? `From: deals${i}@cheap.example\r\nTo: bob@example.test\r\nSubject: cheap pills offer ${i}\r\nMessage-ID: <s${i}@cheap.example>\r\n\r\nbuy cheap pills now discount offer ${i} click here\r\n`
    : `From: alice${i}@work.example\r\nTo: bob@example.test\r\nSubject: project meeting ${i}\r\nMessage-ID: <h${i}@work.example>\r\n\r\nthe agenda for the project meeting ${i} is attached, see you tomorrow\r\n`;

beforeAll(async () => {
  dir = await makeScratchDir('moat-bayes-version-');
  for (const kind of ['spam', 'ham'] as const) {
    await mkdir(join(dir, 'new', kind), { recursive: true });
    for (let i = 0; i < 2; i++) await writeFile(join(dir, 'new', kind, `${i}.eml`), message(kind, 100 + i));
  }
  // The gateway's dataDir/bayes.db, learned before any marker existed: 3 spam and 3 ham.
  await mkdir(join(dir, 'data'), { recursive: true });
  const old = new SqliteBayesStore(join(dir, 'data', 'bayes.db'));
  for (const kind of ['spam', 'ham'] as const) {
    for (let i = 0; i < 3; i++) {
      const raw = Buffer.from(message(kind, i));
      const tokens = (await tokenize(messageView(raw, raw.length, async function* () {}))).map(tokenHash);
      await old.learn([{ id: `${kind}${i}`, as: kind, tokens }], Date.now());
    }
  }
  await old.close();
  gw = await startGateway({ dir, relayPort: await freePort(), config: { checks: { bayes: { minSpam: 1, minHam: 1 } } } });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await stopAll();
  await removeScratchDir(dir);
});

const WARNING = `Bayes database was learned by no recorded tokenizer, a Moat older than v${TOKENIZER_VERSION} (6 of 6), this Moat uses tokenizer v${TOKENIZER_VERSION}: relearn`;

describe('Bayes tokenizer version', () => {
  it('the gateway logs one warning at start-up for a database learned before markers', async () => {
    const e = await gw.waitForEvent('bayes.tokenizer');
    expect(String(e['warning'])).toContain(WARNING);
    expect(e['level']).toBe(40); // pino's warn
    // One worker of two says it.
    expect(gw.events().filter((x) => x['event'] === 'bayes.tokenizer')).toHaveLength(1);
  }, 60_000);

  it('`moat scan` says it once on stderr, still scanning; `moat learn` into it counts the mix', async () => {
    const scan = await gw.cli('scan', '--json', join(dir, 'new', 'spam'));
    expect(scan.code).toBe(0);
    expect(scan.stderr.split('\n').filter((l) => l.includes('Bayes database was learned'))).toEqual([`moat: ${WARNING} (a new database, moat learn spam|ham again); until then Bayes verdicts are worse`]);
    expect(scan.stdout.trim().split('\n')).toHaveLength(2);
    const learn = await gw.cli('learn', 'spam', join(dir, 'new', 'spam'));
    expect(learn.code).toBe(0);
    expect(learn.stderr).toContain(`no recorded tokenizer, a Moat older than v${TOKENIZER_VERSION} (6 of 8), this tokenizer (2 of 8), this Moat uses tokenizer v${TOKENIZER_VERSION}`);
  }, 60_000);

  it('a database learned by this Moat says nothing', async () => {
    await gw.rewriteConfig({ dataDir: join(dir, 'fresh') });
    for (const kind of ['spam', 'ham'] as const) {
      const learn = await gw.cli('learn', kind, join(dir, 'new', kind));
      expect(learn.stdout).toContain(`${kind}: learned 2,`);
      expect(learn.stderr).not.toContain('Bayes database');
    }
    const scan = await gw.cli('scan', '--json', join(dir, 'new'));
    expect(scan.code).toBe(0);
    expect(scan.stdout).toContain('BAYES_');
    expect(scan.stderr).not.toContain('Bayes database');
  }, 60_000);
});
