// SpamAssassin 4 + Bayes as the accuracy and scan anchor: Debian's spamd with a private site config
// (local tests only: --local, no DNS, no network rules; our own init.pre loading the local plugins
// and Bayes; the host's /etc/spamassassin is never read), Bayes trained by sa-learn on the train
// split into a private database, no auto-learning, then every test message through spamd's CHECK
// command from N connections at once (spamc's protocol, spoken here to skip a process per message).
// Flagged: spamd says "Spam: True" (score ≥ required_score 5.0).
// Trusts: /usr/sbin/spamd and /usr/bin/sa-learn (Debian 12, 4.0.1) and the rules they ship.
// Fails: throws when sa-learn fails, spamd does not answer PING, or an answer has no score.
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeDirOwnedBy, startProcess, startWithPortRetry, waitUntil, type ManagedProcess } from '../../test/harness/index.js';
import { pool, type Layout, type Outcome, type SystemRun } from './layout.js';

const run = promisify(execFile);

/** Plugins that need no network, and Bayes (in SA 4 a plugin like the others). */
const PLUGINS = ['Check', 'Bayes', 'HTTPSMismatch', 'URIDetail', 'BodyEval', 'HTMLEval', 'HeaderEval', 'MIMEEval', 'RelayEval', 'URIEval', 'WLBLEval', 'VBounce', 'ImageInfo', 'FreeMail', 'MIMEHeader', 'ReplaceTags'];

export interface SpamdHandle {
  readonly port: number;
  readonly process: ManagedProcess;
  readonly children: number;
}

/** One spamd request (PING, CHECK...): the whole answer. */
export function spamdRequest(port: number, head: string, body: Buffer = Buffer.alloc(0), timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(new Error('spamd: no answer in time')));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  });
}

/** The score and verdict of one message (spamd's CHECK). */
export async function spamdCheck(port: number, raw: Buffer): Promise<{ score: number; spam: boolean }> {
  const answer = await spamdRequest(port, `CHECK SPAMC/1.5\r\nContent-length: ${raw.length}\r\nUser: nobody\r\n\r\n`, raw);
  const m = /Spam: (True|False) ; (-?[\d.]+) \//.exec(answer);
  if (!m) throw new Error(`spamd: unexpected answer ${JSON.stringify(answer.slice(0, 200))}`);
  return { spam: m[1] === 'True', score: Number(m[2]) };
}

async function siteConfig(dir: string): Promise<{ site: string; db: string; home: string }> {
  const site = join(dir, 'sa-site');
  const db = join(dir, 'sa-bayes');
  const home = join(dir, 'sa-home');
  await makeDirOwnedBy(site, 'root');
  await makeDirOwnedBy(db, 'nobody');
  await makeDirOwnedBy(home, 'nobody');
  await writeFile(join(site, 'init.pre'), PLUGINS.map((p) => `loadplugin Mail::SpamAssassin::Plugin::${p}\n`).join(''));
  await writeFile(
    join(site, 'local.cf'),
    ['use_bayes 1', 'bayes_auto_learn 0', `bayes_path ${join(db, 'bayes')}`, 'bayes_file_mode 0777', 'lock_method flock', 'dns_available no', 'skip_rbl_checks 1', 'use_auto_whitelist 0', ''].join('\n'),
  );
  return { site, db, home };
}

export async function startSpamdWithBayes(dir: string, children: number): Promise<SpamdHandle> {
  const { site, home } = await siteConfig(dir);
  return startWithPortRetry(async (port) => {
    const proc = startProcess(
      '/usr/sbin/spamd',
      [`--listen=127.0.0.1:${port}`, '--local', '--nouser-config', `--max-children=${children}`, `--min-children=${children}`, `--min-spare=${children}`, '--syslog=stderr', `--pidfile=${join(dir, `spamd-${port}.pid`)}`, `--helper-home-dir=${home}`, `--siteconfigpath=${site}`, ...(process.getuid?.() === 0 ? ['--username=nobody'] : [])],
      { name: `spamd:${port}`, cwd: dir, logFile: join(dir, 'spamd.log') },
    );
    try {
      await waitUntil(async () => (await spamdRequest(port, 'PING SPAMC/1.5\r\n\r\n', Buffer.alloc(0), 1000)).includes('PONG'), { timeoutMs: 90_000, what: `spamd PONG on 127.0.0.1:${port}`, process: proc, intervalMs: 200 });
    } catch (err: unknown) {
      await proc.stop();
      throw err;
    }
    return { port, process: proc, children };
  });
}

/** sa-learn on the train split (as root into the private db, then handed to nobody for spamd). */
export async function trainSpamAssassin(layout: Layout, log: (line: string) => void): Promise<number> {
  const { site, db } = await siteConfig(layout.dir);
  const t0 = performance.now();
  for (const label of ['spam', 'ham'] as const) {
    const r = await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', '--no-sync', `--dbpath=${db}`, `--${label}`, layout.path('train', label)], { maxBuffer: 1 << 24, timeout: 3_600_000 });
    log(`sa-learn --${label}: ${r.stdout.trim()}`);
  }
  await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', `--dbpath=${db}`, '--sync'], { timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (process.getuid?.() === 0) await run('chown', ['-R', 'nobody', db]);
  await chmod(db, 0o777);
  const dump = await run('/usr/bin/sa-learn', [`--siteconfigpath=${site}`, '--local', `--dbpath=${db}`, '--dump', 'magic'], { timeout: 120_000 });
  log(`sa-learn --dump magic: ${dump.stdout.split('\n').filter((l) => / n(spam|ham)$/.test(l)).map((l) => l.trim()).join('; ')}`);
  return seconds;
}

export async function saVersion(): Promise<string> {
  const r = await run('/usr/sbin/spamd', ['--version']);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

/** Every test message through spamd, `spamd.children` at once. */
export async function scanSpamd(spamd: SpamdHandle, messages: readonly { readonly raw: Buffer }[]): Promise<{ answers: { score: number; spam: boolean }[]; seconds: number }> {
  const t0 = performance.now();
  const answers = await pool(messages, spamd.children, (m) => spamdCheck(spamd.port, m.raw));
  return { answers, seconds: (performance.now() - t0) / 1000 };
}

export async function runSpamAssassin(layout: Layout, o: { readonly children: number; readonly log: (line: string) => void }): Promise<SystemRun> {
  const trainSeconds = await trainSpamAssassin(layout, o.log);
  const spamd = await startSpamdWithBayes(layout.dir, o.children);
  try {
    o.log(`spamd: scanning the test split (${o.children} children)`);
    const { answers, seconds } = await scanSpamd(spamd, layout.test);
    const results: Outcome[] = layout.test.map((m, i) => ({ name: m.name, label: m.label, score: answers[i]?.score ?? 0, flagged: answers[i]?.spam ?? false }));
    return { system: 'spamassassin', version: await saVersion(), setup: `sa-learn on train (private db), spamd --local (no DNS/network tests), ${o.children} children, CHECK over ${o.children} connections`, trainSeconds, scanSeconds: seconds, concurrency: o.children, results };
  } finally {
    await spamd.process.stop();
  }
}
