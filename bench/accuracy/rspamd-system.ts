// Rspamd 3.4 + Bayes as the accuracy and scan anchor: the harness's rspamd (test/harness/rspamd.ts:
// Debian's rspamd with a private config tree over /etc/rspamd, the normal worker and the controller
// on free loopback ports, no proxy; every DNS query to the local stub; fuzzy checks and phishing
// feeds off: remote services; neural off too), its Bayes classifier in a private Redis
// (test/harness/redis.ts), no auto-learning and no learn condition (every train message is
// learned, as in the anchor measurement), trained through the controller's /learnspam and
// /learnham, then every test message through /checkv2 from N connections at once. The compiled
// hyperscan databases are kept in the repo's ignored .cache/rspamd-hs (a cold compile takes 10-60 s).
// Flagged: an action other than "no action" and "greylist" (add header, rewrite subject, reject),
// i.e. what a mail server would mark or refuse.
// A learn rspamd skips answers 208 (already learned: same Message-ID) or 204 (fewer tokens than
// the classifier needs); both are counted as skipped. The answers are read by the harness's
// rspamdHttp, because that 204 carries a body and node:http rejects it.
// Trusts: /usr/bin/rspamd (Debian 12, 3.4). Fails: throws on no pong, a learn refused for
// another reason, or an answer without a score.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rspamdHttp, startRedis, startRspamd, type RedisHandle, type RspamdHandle as HarnessRspamd } from '../../test/harness/index.js';
import { pool, type Layout, type Outcome, type SystemRun } from './layout.js';

const run = promisify(execFile);

export interface RspamdHandle {
  readonly port: number;
  readonly controller: number;
  readonly rspamd: HarnessRspamd;
  readonly redis: RedisHandle;
  stop(): Promise<void>;
}

/** local.d files: Bayes in the private Redis, every message learned, no auto-learning; neural off. */
function bayesConfig(redis: string): Record<string, string> {
  return {
    'redis.conf': `servers = "${redis}";\n`,
    'classifier-bayes.conf': [`servers = "${redis}";`, 'backend = "redis";', 'min_learns = 200;', 'autolearn = false;', "learn_condition = 'return function(task, is_spam, is_unlearn) return true end';", ''].join('\n'),
    'neural.conf': 'enabled = false;\n',
  };
}

export async function startRspamdWithBayes(dir: string, dns: string, workers: number): Promise<RspamdHandle> {
  await mkdir(join(dir, 'redis'), { recursive: true });
  await mkdir(join(dir, 'rspamd'), { recursive: true });
  const redis = await startRedis({ dir: join(dir, 'redis') });
  try {
    const rspamd = await startRspamd({ dnsServer: dns, dir: join(dir, 'rspamd'), normalWorkers: workers, controller: true, localConfig: bayesConfig(redis.address), readyTimeoutMs: 180_000 });
    return {
      port: rspamd.port,
      controller: rspamd.controllerPort as number,
      rspamd,
      redis,
      stop: async () => {
        await rspamd.stop();
        await redis.stop();
      },
    };
  } catch (err: unknown) {
    await redis.stop();
    throw err;
  }
}

/** Learns the train split through the controller, 4 requests at once. */
export async function trainRspamd(r: RspamdHandle, layout: Layout, log: (line: string) => void): Promise<number> {
  const t0 = performance.now();
  let learned = 0;
  let already = 0;
  let fewTokens = 0;
  await pool(layout.train, 4, async (m) => {
    const a = await rspamdHttp(r.controller, 'POST', m.label === 'spam' ? '/learnspam' : '/learnham', m.raw, 120_000);
    if (a.status === 200) learned++;
    else if (a.status === 208 || /already learned/i.test(a.body)) already++;
    else if (a.status === 204 || /less tokens than required/i.test(a.body)) fewTokens++;
    else throw new Error(`rspamd learn ${m.name}: ${a.status} ${a.body.slice(0, 200)}`);
  });
  log(`rspamd learned ${learned}; skipped ${already} already learned (same Message-ID), ${fewTokens} with too few tokens`);
  return (performance.now() - t0) / 1000;
}

/** Every message through /checkv2, `concurrency` at once. */
export async function scanRspamd(r: RspamdHandle, messages: readonly { readonly raw: Buffer }[], concurrency: number): Promise<{ answers: { score: number; action: string }[]; seconds: number }> {
  const t0 = performance.now();
  const answers = await pool(messages, concurrency, async (m) => {
    const a = await rspamdHttp(r.port, 'POST', '/checkv2', m.raw, 120_000);
    if (a.status !== 200) throw new Error(`rspamd /checkv2: ${a.status} ${a.body.slice(0, 200)}`);
    const j = JSON.parse(a.body) as { score?: number; action?: string };
    if (typeof j.score !== 'number') throw new Error(`rspamd: no score in ${a.body.slice(0, 200)}`);
    return { score: j.score, action: j.action ?? '' };
  });
  return { answers, seconds: (performance.now() - t0) / 1000 };
}

export async function rspamdVersion(): Promise<string> {
  const r = await run('/usr/bin/rspamd', ['--version']);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

export function rspamdFlagged(action: string): boolean {
  return action !== 'no action' && action !== 'greylist' && action !== '';
}

export async function runRspamd(layout: Layout, o: { readonly dns: string; readonly workers: number; readonly concurrency: number; readonly log: (line: string) => void }): Promise<SystemRun> {
  o.log('rspamd: starting (a cold hyperscan compile takes up to a minute)');
  const r = await startRspamdWithBayes(layout.dir, o.dns, o.workers);
  try {
    const trainSeconds = await trainRspamd(r, layout, o.log);
    o.log(`rspamd: scanning the test split (${o.concurrency} at once)`);
    const { answers, seconds } = await scanRspamd(r, layout.test, o.concurrency);
    const results: Outcome[] = layout.test.map((m, i) => ({ name: m.name, label: m.label, score: answers[i]?.score ?? 0, flagged: rspamdFlagged(answers[i]?.action ?? '') }));
    return { system: 'rspamd', version: await rspamdVersion(), setup: `Bayes in Redis, every train message learned via the controller, ${o.workers} normal worker(s), /checkv2 over ${o.concurrency} connections, DNS to a local stub (answers REFUSED)`, trainSeconds, scanSeconds: seconds, concurrency: o.concurrency, results };
  } finally {
    await r.stop();
  }
}
