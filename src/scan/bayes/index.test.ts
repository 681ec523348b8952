import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageView } from '../../pipeline/message.js';
import type { PhaseContext, DataContext } from '../../pipeline/types.js';
import { systemClock } from '../../platform/clock.js';
import { SqliteBayesStore } from '../../store/sqlite/bayes.js';
import { tokenHash } from '../../store/bayes.js';
import { autoLearnClass, bayesCheck, bayesSchema, bucketFindings, learnedId, learner, learnTokens, tokenizerMarker, tokenizerWarning } from './index.js';
import { tokenize, TOKENIZER_VERSION } from './tokenize.js';

const view = (s: string) => {
  const raw = Buffer.from(s.replace(/\r?\n/g, '\r\n'));
  return messageView(raw, raw.length, async function* () {});
};
const spam = (i: number) => view(`From: deals${i}@cheap.example\nSubject: cheap pills offer ${i}\nMessage-ID: <s${i}@cheap.example>\n\nbuy cheap pills now viagra discount offer ${i} click here\n`);
const ham = (i: number) => view(`From: alice${i}@work.example\nSubject: project meeting ${i}\nMessage-ID: <h${i}@work.example>\n\nthe agenda for the project meeting ${i} is attached, see you tomorrow\n`);
const ctx = {} as PhaseContext & DataContext;

let dir: string;
let store: SqliteBayesStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-bayes-check-'));
  store = new SqliteBayesStore(join(dir, 'bayes.db'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bayes check', () => {
  it('maps probabilities to SpamAssassin buckets, BAYES_999 beside BAYES_99', () => {
    expect(bucketFindings(0.001, 3).map((f) => f.symbol)).toEqual(['BAYES_00']);
    expect(bucketFindings(0.5, 3).map((f) => f.symbol)).toEqual(['BAYES_50']);
    expect(bucketFindings(0.97, 3).map((f) => f.symbol)).toEqual(['BAYES_95']);
    expect(bucketFindings(0.995, 3).map((f) => f.symbol)).toEqual(['BAYES_99']);
    expect(bucketFindings(1, 150)).toEqual([
      { symbol: 'BAYES_99', detail: 'probability 1.0000 from 150 clue(s)' },
      { symbol: 'BAYES_999', detail: 'probability 1.0000 from 150 clue(s)' },
    ]);
  });

  it('stays silent below the learned minimum, then tells spam from ham', async () => {
    const config = bayesSchema.parse({ minSpam: 5, minHam: 5 });
    const run = bayesCheck(config, store, systemClock).open({ id: 's', clientIp: '127.0.0.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
    const l = learner(store, systemClock);
    for (let i = 0; i < 4; i++) await l.learn(spam(i), 'spam');
    for (let i = 0; i < 5; i++) await l.learn(ham(i), 'ham');
    expect(await run.data?.(spam(100), ctx, AbortSignal.timeout(5000))).toEqual([]);
    await l.learn(spam(4), 'spam');
    const s = (await run.data?.(spam(100), ctx, AbortSignal.timeout(5000))) ?? [];
    expect(s.map((f) => f.symbol)).toContain('BAYES_99');
    expect(s[0]?.detail).toMatch(/^probability (0\.9\d+|1\.0000) from \d+ clue\(s\)$/);
    expect(((await run.data?.(ham(100), ctx, AbortSignal.timeout(5000))) ?? []).map((f) => f.symbol)).toEqual(['BAYES_00']);
  });

  it('learns a message under one id whatever headers were added in front of it', async () => {
    const a = spam(1);
    const b = view(`Received: from x by y\nX-Moat-Score: 9\n${a.raw.toString('latin1').replace(/\r\n/g, '\n')}`);
    expect(learnedId(b)).toBe(learnedId(a));
    expect(learnedId(spam(2))).not.toBe(learnedId(a));
    const l = learner(store, systemClock);
    expect(await l.learn(a, 'spam')).toBe('learned');
    expect(await l.learn(b, 'spam')).toBe('known');
    expect(await l.learn(b, 'ham')).toBe('relearned');
  });

  it('fails when the store fails (the runner then logs it and goes on: failOpen by default)', async () => {
    const run = bayesCheck(bayesSchema.parse({}), store, systemClock).open({ id: 's', clientIp: '127.0.0.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
    await store.close();
    await expect(run.data?.(spam(1), ctx, AbortSignal.timeout(5000))).rejects.toThrow();
    expect(bayesSchema.parse({}).failOpen).toBe(true);
  });

  it('auto-learns only confident verdicts, judged without its own symbols', () => {
    const rule = { spamAbove: 12, hamBelow: -1 };
    const f = (symbol: string, score: number, transient = false) => ({ symbol, score, transient });
    expect(autoLearnClass({ action: 'reject', findings: [f('RULE_A', 8), f('RULE_B', 5)] }, rule)).toBe('spam');
    // Bayes' own 6 points do not count: 8 is not confident.
    expect(autoLearnClass({ action: 'quarantine', findings: [f('RULE_A', 8), f('BAYES_99', 5), f('BAYES_999', 1)] }, rule)).toBeNull();
    expect(autoLearnClass({ action: 'accept', findings: [f('DKIM_VALID', -1), f('BAYES_00', -1.5)] }, rule)).toBe('ham');
    // A failed check could have changed the score: never learn then.
    expect(autoLearnClass({ action: 'accept', findings: [f('DKIM_VALID', -2), f('AUTH_TEMPFAIL', 0, true)] }, rule)).toBeNull();
    expect(autoLearnClass({ action: 'defer', findings: [f('RULE_A', 20)] }, rule)).toBeNull();
  });

  describe('tokenizer version marker', () => {
    const markerCount = async (v: number): Promise<number> => {
      const c = (await store.lookup([tokenizerMarker(v)])).counts.get(tokenizerMarker(v));
      return (c?.spam ?? 0) + (c?.ham ?? 0);
    };
    /** A message learned as a Moat of `version` learned it (undefined: one from before markers). */
    const learnAs = async (i: number, version: number | undefined): Promise<void> => {
      const tokens = (await tokenize(spam(i))).map(tokenHash);
      await store.learn([{ id: `old-${i}`, as: 'spam', tokens: version === undefined ? tokens : [...tokens, tokenizerMarker(version)] }], 1);
    };

    it('is learned with every message, moves with a relearned one, and says nothing when all is this version', async () => {
      expect(await tokenizerWarning(store)).toBeNull();
      const l = learner(store, systemClock);
      await l.learn(spam(1), 'spam');
      await l.learn(ham(1), 'ham');
      expect(await markerCount(TOKENIZER_VERSION)).toBe(2);
      expect(await tokenizerWarning(store)).toBeNull();
      expect(await l.learn(spam(1), 'ham')).toBe('relearned');
      expect(await markerCount(TOKENIZER_VERSION)).toBe(2);
      expect(await tokenizerWarning(store)).toBeNull();
      // learnTokens is the message's own tokens and the marker, which no message can make.
      const own = (await tokenize(spam(2))).map(tokenHash);
      expect(await learnTokens(spam(2))).toEqual([...own, tokenizerMarker()]);
      expect(own).not.toContain(tokenizerMarker());
    });

    it('names the versions of a database learned by another tokenizer or before markers', async () => {
      for (let i = 0; i < 3; i++) await learnAs(i, TOKENIZER_VERSION - 1);
      expect(await tokenizerWarning(store)).toBe(
        `Bayes database was learned by tokenizer v${TOKENIZER_VERSION - 1} (3 of 3 messages), this Moat uses tokenizer v${TOKENIZER_VERSION}: relearn (a new database, moat learn spam|ham again); until then Bayes verdicts are worse`,
      );
      await learnAs(3, undefined);
      await learnAs(4, TOKENIZER_VERSION + 1);
      await learner(store, systemClock).learn(ham(1), 'ham');
      const w = await tokenizerWarning(store);
      expect(w).toContain(`tokenizer v${TOKENIZER_VERSION - 1} (3 of 6 messages), tokenizer v${TOKENIZER_VERSION + 1} (1 of 6 messages), no recorded tokenizer`);
      expect(w).toContain('(1 of 6), this tokenizer (1 of 6), this Moat uses');
    });

    it('is no clue: a database learned with markers gives the verdict one learned without them gives', async () => {
      const config = bayesSchema.parse({ minSpam: 5, minHam: 5 });
      const bare = new SqliteBayesStore(join(dir, 'bare.db'));
      try {
        for (let i = 0; i < 5; i++) {
          for (const [m, as] of [[spam(i), 'spam'], [ham(i), 'ham']] as const) {
            await store.learn([{ id: `${as}${i}`, as, tokens: await learnTokens(m) }], 1);
            await bare.learn([{ id: `${as}${i}`, as, tokens: (await tokenize(m)).map(tokenHash) }], 1);
          }
        }
        const verdict = (s: SqliteBayesStore, m: ReturnType<typeof view>) => bayesCheck(config, s, systemClock).open({ id: 's', clientIp: '127.0.0.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 }).data?.(m, ctx, AbortSignal.timeout(5000));
        for (const m of [spam(100), ham(100)]) {
          const marked = await verdict(store, m);
          expect(marked?.length).toBeGreaterThan(0);
          expect(marked).toEqual(await verdict(bare, m));
        }
      } finally {
        await bare.close();
      }
    });
  });
});
