// SpamAssassin 4 + Bayes as the accuracy and scan anchor: the harness's spamd (test/harness/spamd.ts:
// local tests only, --local, no DNS, no network rules; its private site config with Bayes on; the
// host's /etc/spamassassin is never read), Bayes trained by sa-learn on the train split into its
// private database with the same site config, no auto-learning, then every test message through spamd's CHECK
// command from N connections at once (spamc's protocol, spoken here to skip a process per message).
// Flagged: spamd says "Spam: True" (score ≥ required_score 5.0).
// sa-learn takes minutes on a busy machine, so the trained database is kept in the ignored
// bench/out/cache/sa-bayes-HASH/, HASH over SpamAssassin's version, the site config and every train
// message (label, name, octets): a later run on the same split copies it instead of learning
// again, and reports the training time of the run that made it.
// Trusts: /usr/sbin/spamd and /usr/bin/sa-learn (Debian 12, 4.0.1) and the rules they ship.
// Fails: throws when sa-learn fails, spamd does not answer PING, or an answer has no score.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spamdRequest, spamdSiteConfig, startSpamd, type SpamdHandle } from '../../test/harness/index.js';
import { projectRoot } from '../lib/paths.js';
import { pool, type Layout, type Outcome, type SystemRun } from './layout.js';

const run = promisify(execFile);

/** The score and verdict of one message (spamd's CHECK). */
export async function spamdCheck(port: number, raw: Buffer): Promise<{ score: number; spam: boolean }> {
  const answer = await spamdRequest(port, `CHECK SPAMC/1.5\r\nContent-length: ${raw.length}\r\nUser: nobody\r\n\r\n`, raw);
  const m = /Spam: (True|False) ; (-?[\d.]+) \//.exec(answer);
  if (!m) throw new Error(`spamd: unexpected answer ${JSON.stringify(answer.slice(0, 200))}`);
  return { spam: m[1] === 'True', score: Number(m[2]) };
}

/** The harness's spamd with Bayes on (the database trainSpamAssassin filled), `children` pre-forked. */
export async function startSpamdWithBayes(dir: string, children: number): Promise<SpamdHandle & { readonly children: number }> {
  const spamd = await startSpamd({ dir, bayes: true, maxChildren: children, minChildren: children, readyTimeoutMs: 90_000, logFile: join(dir, 'spamd.log') });
  return { ...spamd, children };
}

/** The cache key of a trained database: SpamAssassin's version, the site config, the train split. */
async function bayesKey(layout: Layout, site: string): Promise<string> {
  const h = createHash('sha256');
  h.update(await saVersion());
  // the site config names this run's scratch dir (bayes_path): hashed without it
  for (const f of ['init.pre', 'local.cf']) h.update((await readFile(join(site, f), 'utf8')).replaceAll(layout.dir, '<dir>'));
  for (const m of layout.train) h.update(`${m.label}\0${m.name}\0`).update(createHash('sha256').update(m.raw).digest());
  return h.digest('hex').slice(0, 16);
}

/** Hands the database to nobody (spamd's user). */
async function handOver(db: string): Promise<void> {
  if (process.getuid?.() === 0) await run('chown', ['-R', 'nobody', db]);
  await chmod(db, 0o777);
}

/**
 * sa-learn on the train split (as root into the private db, --no-sync per label then one --sync,
 * then handed to nobody for spamd), or the cached database of an earlier run on the same split.
 */
export async function trainSpamAssassin(layout: Layout, log: (line: string) => void): Promise<{ seconds: number; cached: boolean }> {
  const { site, bayesDir } = await spamdSiteConfig(layout.dir, { bayes: true });
  const db = bayesDir as string;
  const cache = join(projectRoot(), 'bench', 'out', 'cache', `sa-bayes-${await bayesKey(layout, site)}`);
  if (existsSync(join(cache, 'meta.json'))) {
    const meta = JSON.parse(await readFile(join(cache, 'meta.json'), 'utf8')) as { seconds: number; createdAt: string };
    for (const f of await readdir(cache)) if (f !== 'meta.json') await cp(join(cache, f), join(db, f));
    await handOver(db);
    log(`sa-learn: the database trained on this split ${meta.createdAt} (${meta.seconds.toFixed(0)} s) copied from ${cache}`);
    return { seconds: meta.seconds, cached: true };
  }
  const t0 = performance.now();
  for (const label of ['spam', 'ham'] as const) {
    const r = await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', '--no-sync', `--dbpath=${db}`, `--${label}`, layout.path('train', label)], { maxBuffer: 1 << 24, timeout: 3_600_000 });
    log(`sa-learn --${label}: ${r.stdout.trim()}`);
  }
  await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', `--dbpath=${db}`, '--sync'], { timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  const dump = await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', `--dbpath=${db}`, '--dump', 'magic'], { timeout: 120_000 });
  log(`sa-learn --dump magic: ${dump.stdout.split('\n').filter((l) => / n(spam|ham)$/.test(l)).map((l) => l.trim()).join('; ')}`);
  // written to a temporary name and renamed, so a run stopped half way leaves no partial cache
  const partial = `${cache}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  for (const f of await readdir(db)) if (/^bayes_(toks|seen)/.test(f)) await cp(join(db, f), join(partial, f));
  await writeFile(join(partial, 'meta.json'), `${JSON.stringify({ seconds, createdAt: new Date().toISOString() })}\n`);
  await rename(partial, cache).catch(async () => rm(partial, { recursive: true, force: true }));
  await handOver(db);
  return { seconds, cached: false };
}

export async function saVersion(): Promise<string> {
  const r = await run('/usr/sbin/spamd', ['--version']);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

/** Every test message through spamd, `spamd.children` at once. */
export async function scanSpamd(spamd: SpamdHandle & { readonly children: number }, messages: readonly { readonly raw: Buffer }[]): Promise<{ answers: { score: number; spam: boolean }[]; seconds: number }> {
  const t0 = performance.now();
  const answers = await pool(messages, spamd.children, (m) => spamdCheck(spamd.port, m.raw));
  return { answers, seconds: (performance.now() - t0) / 1000 };
}

export async function runSpamAssassin(layout: Layout, o: { readonly children: number; readonly log: (line: string) => void }): Promise<SystemRun> {
  const { seconds: trainSeconds, cached } = await trainSpamAssassin(layout, o.log);
  const spamd = await startSpamdWithBayes(layout.dir, o.children);
  try {
    o.log(`spamd: scanning the test split (${o.children} children)`);
    const { answers, seconds } = await scanSpamd(spamd, layout.test);
    const results: Outcome[] = layout.test.map((m, i) => ({ name: m.name, label: m.label, score: answers[i]?.score ?? 0, flagged: answers[i]?.spam ?? false }));
    return { system: 'spamassassin', version: await saVersion(), setup: `sa-learn on train (private db${cached ? ', cached from an earlier run on the same split' : ''}), spamd --local (no DNS/network tests), ${o.children} children, CHECK over ${o.children} connections`, trainSeconds, scanSeconds: seconds, concurrency: o.children, results };
  } finally {
    await spamd.stop();
  }
}
