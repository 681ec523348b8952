/**
 * `moat learn --config FILE spam|ham PATH…` and `moat learn --config FILE --forget PATH…`: trains
 * the Bayes store (checks.bayes.store) on message files, directories, Maildirs and mbox files (the
 * inputs of `moat scan`, scan-input.ts), each parsed with the gateway's bounded MIME parse and
 * tokenized as the bayes check does. Learned in batches, each batch one store transaction. A
 * message already learned as that class is skipped; one learned as the other class is moved.
 * `--forget` unlearns. `--expire` runs the store's expiry (checks.bayes.expiry) once.
 * Prints the counts (and, on stderr, when the store holds messages learned by another tokenizer
 * version: index.ts tokenizerWarning); exit 1 when a path could not be read or nothing was given.
 * Works beside a running gateway: the SQLite store takes one writer at a time and waits (busy timeout).
 * With `state: redis://…` the tokens are the cluster's (src/store/redis/bayes.ts): learned through
 * any node's config, they score on every node.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../config/schema.js';
import { bayesPath, openBayesStore, openQuarantine, statePath } from '../main-stores.js';
import { messageView } from '../pipeline/message.js';
import { systemClock } from '../platform/clock.js';
import { learnedId, learner, learnTokens, tokenizerWarning } from '../scan/bayes/index.js';
import { limitsForScan, mimeParser } from '../scan/mime/index.js';
import { type BayesClass, type BayesStore, type LearnItem, type LearnOutcome } from '../store/bayes.js';
import { scanInputs } from './scan-input.js';

export type LearnRequest =
  | { readonly op: 'learn'; readonly as: BayesClass; readonly paths: readonly string[] }
  | { readonly op: 'forget'; readonly paths: readonly string[] }
  | { readonly op: 'expire' };

export interface LearnCounts {
  learned: number;
  relearned: number;
  /** Already learned as this class (learn), or never learned (forget). */
  skipped: number;
  forgotten: number;
  errors: number;
}

const BATCH = 200;

/** Tokenizes every message under `paths` and hands them to `flush` in batches. */
async function eachBatch(config: Config, as: BayesClass, paths: readonly string[], counts: LearnCounts, flush: (items: LearnItem[]) => Promise<void>): Promise<void> {
  const limit = config.policy.scanLimit;
  const parse = mimeParser(limitsForScan(limit));
  let batch: LearnItem[] = [];
  for await (const item of scanInputs(paths)) {
    if ('error' in item) {
      counts.errors++;
      process.stderr.write(`moat: ${item.file}: ${item.error}\n`);
      continue;
    }
    const raw = item.raw;
    const view = messageView(raw.length > limit ? raw.subarray(0, limit) : raw, raw.length, async function* () {
      yield raw;
    }, parse);
    batch.push({ id: learnedId(view), as, tokens: await learnTokens(view) });
    if (batch.length >= BATCH) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
}

/** Runs a learn request against a store; the counts (for the CLI, the benchmark and tests). */
export async function learnWith(config: Config, store: BayesStore, req: LearnRequest): Promise<LearnCounts> {
  const counts: LearnCounts = { learned: 0, relearned: 0, skipped: 0, forgotten: 0, errors: 0 };
  if (req.op === 'expire') {
    const e = config.checks.bayes.expiry;
    counts.forgotten = await store.expire({ before: systemClock.now() - e.maxAge, rareBelow: e.rareBelow, maxTokens: e.maxTokens });
    return counts;
  }
  if (req.op === 'learn') {
    await eachBatch(config, req.as, req.paths, counts, async (items) => {
      for (const o of await store.learn(items, systemClock.now())) {
        if (o === 'known') counts.skipped++;
        else counts[o]++;
      }
    });
  } else {
    await eachBatch(config, 'ham', req.paths, counts, async (items) => {
      for (const done of await store.forget(items)) {
        if (done) counts.forgotten++;
        else counts.skipped++;
      }
    });
  }
  return counts;
}

/** The configured Bayes store, writable (the SQLite file's directory created first). */
async function openForLearning(config: Config): Promise<BayesStore> {
  if (statePath(config) !== null) await mkdir(dirname(bayesPath(config)), { recursive: true, mode: 0o700 });
  const store = await openBayesStore(config);
  // Redis: connected before the first write (no offline queue); unreachable, the write fails.
  if (statePath(config) === null && store instanceof (await import('../store/redis/bayes.js')).RedisBayesStore) await store.ready(config.redis.connectTimeout).catch(() => undefined);
  return store;
}

/**
 * The tokenizer warning of the configured Bayes store (`moat scan` prints it on stderr), or null:
 * also when there is no SQLite database yet (nothing learned) or the store cannot be read (the
 * scan then reports the Bayes failure per message as it always does).
 */
export async function bayesTokenizerNotice(config: Config): Promise<string | null> {
  if (!config.checks.bayes.enabled) return null;
  const file = statePath(config) !== null ? bayesPath(config) : null;
  if (file !== null && !existsSync(file)) return null;
  try {
    const store = await openBayesStore(config, { readonly: true });
    try {
      if (file === null && store instanceof (await import('../store/redis/bayes.js')).RedisBayesStore) await store.ready(config.redis.connectTimeout);
      return await tokenizerWarning(store);
    } finally {
      await store.close();
    }
  } catch {
    return null;
  }
}

/** Learns one message (quarantine training): what the store did with it. */
export async function learnOne(config: Config, raw: Buffer, as: BayesClass): Promise<LearnOutcome> {
  const store = await openForLearning(config);
  try {
    const view = messageView(raw, raw.length, async function* () {
      yield raw;
    }, mimeParser(limitsForScan(config.policy.scanLimit)));
    return await learner(store, systemClock).learn(view, as);
  } finally {
    await store.close();
  }
}

export async function learnCommand(config: Config, req: LearnRequest): Promise<number> {
  const store = await openForLearning(config);
  try {
    const c = await learnWith(config, store, req);
    const t = await store.totals();
    if (req.op === 'expire') process.stdout.write(`expired ${c.forgotten} token(s)\n`);
    else if (req.op === 'learn') process.stdout.write(`${req.as}: learned ${c.learned}, relearned ${c.relearned} (moved from the other class), skipped ${c.skipped} (already known), errors ${c.errors}\n`);
    else process.stdout.write(`forgotten ${c.forgotten}, skipped ${c.skipped} (not learned), errors ${c.errors}\n`);
    process.stdout.write(`store: ${t.spam} spam, ${t.ham} ham learned\n`);
    const stale = await tokenizerWarning(store);
    if (stale !== null) process.stderr.write(`moat: ${stale}\n`);
    const none = req.op !== 'expire' && c.learned + c.relearned + c.skipped + c.forgotten === 0;
    return c.errors > 0 || none ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** Trains Bayes on a quarantined message: what the store did with it, or why it could not. */
export async function learnQuarantined(config: Config, id: string, as: BayesClass): Promise<{ error: string } | { outcome: string }> {
  const store = await openQuarantine(config);
  let raw: Buffer | null;
  try {
    await store.init();
    raw = await store.content(id, config.policy.scanLimit);
  } finally {
    await store.close();
  }
  if (!raw) return { error: `no message ${id} in quarantine` };
  return { outcome: await learnOne(config, raw, as) };
}
