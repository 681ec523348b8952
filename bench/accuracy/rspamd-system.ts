// Rspamd 3.4 + Bayes as the accuracy and scan anchor: the harness's rspamd (test/harness/rspamd.ts:
// Debian's rspamd with a private config tree over /etc/rspamd, the normal workers and the
// controller on free loopback ports, no proxy; every DNS query to the local stub; fuzzy checks and
// phishing feeds off: remote services), its Bayes classifier in a private Redis
// (test/harness/redis.ts), no auto-learning and a learn condition that takes every message (every
// train message is learned, as in the anchor measurement), trained through the controller's
// /learnspam and /learnham, then every test message through /checkv2 from N connections at once.
// The compiled hyperscan databases are kept in the repo's ignored .cache/rspamd-hs (a cold compile
// takes 10-60 s). Flagged: an action other than "no action" and "greylist" (add header, rewrite
// subject, reject), i.e. what a mail server would mark or refuse.
// Trusts: /usr/bin/rspamd (Debian 12, 3.4). Fails: throws on no pong, a learn that is refused for
// another reason than "already learned", or an answer without a score.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRedis, startRspamd } from '../../test/harness/index.js';
import { pool, type Layout, type Outcome, type SystemRun } from './layout.js';

const run = promisify(execFile);

/** Rspamd and its Redis, as the suites use them. */
export interface BayesRspamd {
  readonly port: number;
  readonly controller: number;
  stop(): Promise<void>;
}

/** One HTTP request to rspamd; the status and body. */
export function rspamdHttp(port: number, method: 'GET' | 'POST', path: string, body?: Buffer, timeoutMs = 120_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method, agent: false, signal: AbortSignal.timeout(timeoutMs), headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** The harness's Rspamd with Bayes in a private Redis, learned through its controller. */
export async function startRspamdWithBayes(dir: string, dns: string, workers: number): Promise<BayesRspamd> {
  await mkdir(join(dir, 'redis'), { recursive: true });
  const redis = await startRedis({ dir: join(dir, 'redis') });
  try {
    await mkdir(join(dir, 'rspamd'), { recursive: true });
    const r = await startRspamd({ dir: join(dir, 'rspamd'), dnsServer: dns, workers, bayes: { redis: redis.address }, logLevel: 'warning', readyTimeoutMs: 180_000 });
    return {
      port: r.port,
      controller: r.controller as number,
      stop: async () => {
        await r.stop();
        await redis.stop();
      },
    };
  } catch (err: unknown) {
    await redis.stop();
    throw err;
  }
}

/** Learns the train split through the controller, 4 requests at once. */
export async function trainRspamd(r: BayesRspamd, layout: Layout, log: (line: string) => void): Promise<number> {
  const t0 = performance.now();
  let learned = 0;
  let refused = 0;
  await pool(layout.train, 4, async (m) => {
    const a = await rspamdHttp(r.controller, 'POST', m.label === 'spam' ? '/learnspam' : '/learnham', m.raw);
    if (a.status === 200) learned++;
    else if (/already learned|learn_condition/i.test(a.body)) refused++;
    else throw new Error(`rspamd learn ${m.name}: ${a.status} ${a.body.slice(0, 200)}`);
  });
  log(`rspamd learned ${learned}, refused ${refused} (already learned)`);
  return (performance.now() - t0) / 1000;
}

/** Every message through /checkv2, `concurrency` at once. */
export async function scanRspamd(r: BayesRspamd, messages: readonly { readonly raw: Buffer }[], concurrency: number): Promise<{ answers: { score: number; action: string }[]; seconds: number }> {
  const t0 = performance.now();
  const answers = await pool(messages, concurrency, async (m) => {
    const a = await rspamdHttp(r.port, 'POST', '/checkv2', m.raw);
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
