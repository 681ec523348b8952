// Rspamd 3.4 + Bayes as the accuracy and scan anchor: Debian's rspamd with a private config tree
// over /etc/rspamd (the normal worker and the controller on free loopback ports, no proxy; every
// DNS query to the local stub; fuzzy checks and phishing feeds off: remote services), its Bayes
// classifier in a private Redis (test/harness/redis.ts), no auto-learning and no learn condition
// (every train message is learned, as in the anchor measurement), trained through the controller's
// /learnspam and /learnham, then every test message through /checkv2 from N connections at once.
// The compiled hyperscan databases are kept in the repo's ignored .cache/rspamd-hs (a cold compile
// takes 10-60 s). Flagged: an action other than "no action" and "greylist" (add header, rewrite
// subject, reject), i.e. what a mail server would mark or refuse.
// Trusts: /usr/bin/rspamd (Debian 12, 3.4). Fails: throws on no pong, a learn that is refused for
// another reason than "already learned", or an answer without a score.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, startRedis, startWithPortRetry, waitUntil, freePort, type ManagedProcess, type RedisHandle } from '../../test/harness/index.js';
import { projectRoot } from '../lib/paths.js';
import { pool, type Layout, type Outcome, type SystemRun } from './layout.js';

const run = promisify(execFile);

export interface RspamdHandle {
  readonly port: number;
  readonly controller: number;
  readonly process: ManagedProcess;
  readonly redis: RedisHandle;
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

async function writeConfig(etc: string, port: number, controller: number, workers: number, dns: string, redis: string, hsCache: string): Promise<void> {
  const local = join(etc, 'local.d');
  const override = join(etc, 'override.d');
  await mkdir(local, { recursive: true });
  await mkdir(override, { recursive: true });
  await writeFile(join(override, 'worker-normal.inc'), `bind_socket = "127.0.0.1:${port}";\ncount = ${workers};\n`);
  await writeFile(join(override, 'worker-controller.inc'), `bind_socket = "127.0.0.1:${controller}";\ncount = 1;\npassword = "q1";\nsecure_ip = "127.0.0.1";\n`);
  await writeFile(join(override, 'worker-proxy.inc'), 'count = -1;\n');
  await writeFile(join(override, 'logging.inc'), 'type = "console";\nlevel = "warning";\n');
  await writeFile(join(override, 'options.inc'), [`dns { nameserver = ["${dns}"]; timeout = 1s; retransmits = 1; }`, 'disable_monitoring = true;', `hs_cache_dir = "${hsCache}/";`, ''].join('\n'));
  for (const m of ['fuzzy_check', 'phishing', 'neural']) await writeFile(join(local, `${m}.conf`), 'enabled = false;\n');
  await writeFile(join(local, 'redis.conf'), `servers = "${redis}";\n`);
  await writeFile(join(local, 'classifier-bayes.conf'), [`servers = "${redis}";`, 'backend = "redis";', 'min_learns = 200;', 'autolearn = false;', "learn_condition = 'return function(task, is_spam, is_unlearn) return true end';", ''].join('\n'));
}

export async function startRspamdWithBayes(dir: string, dns: string, workers: number): Promise<RspamdHandle> {
  await mkdir(join(dir, 'redis'), { recursive: true });
  const redis = await startRedis({ dir: join(dir, 'redis') });
  const hsCache = process.env['MOAT_RSPAMD_HS_CACHE'] ?? join(projectRoot(), '.cache', 'rspamd-hs');
  await mkdir(hsCache, { recursive: true });
  const vars = { db: join(dir, 'rspamd-db'), run: join(dir, 'rspamd-run'), log: join(dir, 'rspamd-log') };
  for (const d of Object.values(vars)) await mkdir(d, { recursive: true });
  return startWithPortRetry(async (port) => {
    const controller = await freePort();
    const etc = join(dir, `rspamd-etc-${port}`);
    await writeConfig(etc, port, controller, workers, dns, redis.address, hsCache);
    const proc = startProcess(
      '/usr/bin/rspamd',
      ['-f', ...(process.getuid?.() === 0 ? ['-i', '-u', 'root', '-g', 'root'] : []), '-c', '/etc/rspamd/rspamd.conf', `--var=LOCAL_CONFDIR=${etc}`, `--var=DBDIR=${vars.db}`, `--var=RUNDIR=${vars.run}`, `--var=LOGDIR=${vars.log}`],
      { name: `rspamd:${port}`, cwd: dir, logFile: join(dir, 'rspamd.out') },
    );
    try {
      for (const p of [port, controller]) await waitUntil(async () => (await rspamdHttp(p, 'GET', '/ping', undefined, 1000)).body.includes('pong'), { timeoutMs: 180_000, what: `rspamd pong on 127.0.0.1:${p}`, process: proc, intervalMs: 200 });
    } catch (err: unknown) {
      await proc.stop();
      await redis.stop();
      throw err;
    }
    return {
      port,
      controller,
      process: proc,
      redis,
      stop: async () => {
        await proc.stop();
        await redis.stop();
      },
    };
  });
}

/** Learns the train split through the controller, 4 requests at once. */
export async function trainRspamd(r: RspamdHandle, layout: Layout, log: (line: string) => void): Promise<number> {
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
export async function scanRspamd(r: RspamdHandle, messages: readonly { readonly raw: Buffer }[], concurrency: number): Promise<{ answers: { score: number; action: string }[]; seconds: number }> {
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
