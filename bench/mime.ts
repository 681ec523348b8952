// MIME parser benchmark (`npm run bench:mime`, docs/adr/0005-mime-parser.md): the candidates
// (postal-mime, mailparser's simpleParser, mailsplit + libmime) and Moat's own parse layer
// (src/scan/mime, which adds the part tree, problems, HTML-to-text and type sniffing) on
//  1. correctness: the malformed samples of test/fixtures/mime-samples.ts;
//  2. throughput and memory: every message of the SpamAssassin corpus, each candidate in its own
//     child process (so that peak RSS is its own), runs interleaved A B C D A B C D ...;
//  3. main-thread cost of one 10 MB message: wall time of the parse and the longest stretch in
//     which a timer could not run (the event loop was blocked).
// Usage: node dist/bench/mime.js [--repeats 3] [--rounds 2] [--limit N] [--out FILE]
// Fails: exit 1 when a child fails; the corpus is installed on demand (bench/mime/corpus.ts).
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { messageView } from '../src/pipeline/message.js';
import { parseMime } from '../src/scan/mime/index.js';
import { MIME_SAMPLES, type MimeSample } from '../test/fixtures/mime-samples.js';
import { bigMessage } from './mime/big.js';
import { CANDIDATES, PARSE, type CandidateName, type Normalized } from './mime/candidates.js';
import { corpusDir, loadCorpus } from './mime/corpus.js';
import { projectRoot } from './lib/paths.js';

type Subject = CandidateName | 'moat';
const SUBJECTS: readonly Subject[] = [...CANDIDATES, 'moat'];

/** Moat's parse layer, reduced to the candidates' output for the same checks. */
async function moat(raw: Buffer): Promise<Normalized> {
  const m = await parseMime(messageView(raw, raw.length, async function* () {}));
  return {
    subject: m.headers.subject ?? '',
    fromName: m.headers.from[0]?.name ?? '',
    fromAddress: m.headers.from[0]?.address ?? '',
    text: m.text,
    html: m.html,
    attachments: m.attachments.map((p) => ({ filename: p.filename, contentType: p.contentType, content: p.content })),
  };
}

const RUN: Readonly<Record<Subject, (raw: Buffer) => Promise<Normalized>>> = { ...PARSE, moat };

function judge(s: MimeSample, n: Normalized): string[] {
  const bad: string[] = [];
  const e = s.expect;
  if (e.subject !== undefined && n.subject !== e.subject) bad.push(`subject ${JSON.stringify(n.subject)}`);
  if (e.fromName !== undefined && n.fromName !== e.fromName) bad.push(`from name ${JSON.stringify(n.fromName)}`);
  if (e.fromAddress !== undefined && n.fromAddress !== e.fromAddress) bad.push(`from address ${JSON.stringify(n.fromAddress)}`);
  for (const t of e.text ?? []) if (!n.text.includes(t)) bad.push(`text lacks ${JSON.stringify(t)}`);
  for (const t of e.html ?? []) if (!n.html.includes(t)) bad.push(`html lacks ${JSON.stringify(t)}`);
  if (e.attachments) {
    if (n.attachments.length !== e.attachments.length) bad.push(`${n.attachments.length} attachments, not ${e.attachments.length}`);
    e.attachments.forEach((want, i) => {
      const got = n.attachments[i];
      if (!got) return;
      if (got.filename !== want.filename) bad.push(`attachment ${i} filename ${JSON.stringify(got.filename)}`);
      if (got.contentType !== want.contentType) bad.push(`attachment ${i} type ${got.contentType}`);
      if (want.size !== undefined && got.content.length !== want.size) bad.push(`attachment ${i} size ${got.content.length}`);
      if (want.startsWith !== undefined && !got.content.toString('hex').startsWith(want.startsWith)) bad.push(`attachment ${i} content ${got.content.subarray(0, 8).toString('hex')}`);
    });
  }
  return bad;
}

async function correctness(): Promise<Record<Subject, Record<string, string[]>>> {
  const out = {} as Record<Subject, Record<string, string[]>>;
  for (const name of SUBJECTS) {
    out[name] = {};
    for (const s of MIME_SAMPLES) {
      try {
        out[name][s.name] = judge(s, await RUN[name](s.raw));
      } catch (e) {
        out[name][s.name] = [`threw: ${e instanceof Error ? e.message : String(e)}`.slice(0, 120)];
      }
    }
  }
  return out;
}

interface ThroughputResult {
  readonly subject: Subject;
  readonly messages: number;
  readonly ms: number;
  readonly errors: number;
  readonly rssAfterLoadMiB: number;
  readonly peakRssMiB: number;
}

/** In a child process: parse the whole corpus `rounds` times after a warm-up. */
async function throughputChild(subject: Subject, rounds: number, limit: number): Promise<ThroughputResult> {
  const corpus = await loadCorpus(await corpusDir(), limit);
  const run = RUN[subject];
  let errors = 0;
  for (const m of corpus.slice(0, 300)) await run(m.raw).catch(() => undefined);
  const rssAfterLoad = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const m of corpus) {
      try {
        await run(m.raw);
      } catch {
        errors++;
      }
    }
  }
  const ms = performance.now() - t0;
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  return { subject, messages: corpus.length * rounds, ms, errors, rssAfterLoadMiB: mib(rssAfterLoad), peakRssMiB: mib(process.resourceUsage().maxRSS * 1024) };
}

interface BigResult {
  readonly subject: Subject;
  readonly ms: number;
  readonly maxBlockMs: number;
}

/** In a child process: one 10 MB message, wall time and the longest event-loop block (median of 5). */
async function bigChild(subject: Subject): Promise<BigResult> {
  const raw = bigMessage();
  const run = RUN[subject];
  await run(raw);
  const runs: BigResult[] = [];
  for (let i = 0; i < 5; i++) {
    let last = performance.now();
    let maxGap = 0;
    let ticking = true;
    const tick = (): void => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const t0 = performance.now();
    await run(raw);
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
    ticking = false;
    runs.push({ subject, ms, maxBlockMs: maxGap });
  }
  const mid = <K extends 'ms' | 'maxBlockMs'>(k: K): number => [...runs].map((r) => r[k]).sort((a, b) => a - b)[2] ?? 0;
  return { subject, ms: mid('ms'), maxBlockMs: mid('maxBlockMs') };
}

function child(args: string[]): unknown {
  const out = execFileSync(process.execPath, [import.meta.filename, ...args], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 1_800_000, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop() ?? 'null');
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      big: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      repeats: { type: 'string', default: '3' },
      limit: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (values.child !== undefined) {
    process.stdout.write(`${JSON.stringify(await throughputChild(values.child as Subject, Number(values.rounds), limit))}\n`);
    return;
  }
  if (values.big !== undefined) {
    process.stdout.write(`${JSON.stringify(await bigChild(values.big as Subject))}\n`);
    return;
  }
  const log = (l: string): void => void process.stderr.write(`[bench:mime] ${l}\n`);
  await corpusDir(log);
  const correct = await correctness();
  const runs: ThroughputResult[] = [];
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const s of SUBJECTS) {
      const res = child(['--child', s, '--rounds', values.rounds, ...(values.limit ? ['--limit', values.limit] : [])]) as ThroughputResult;
      log(`repeat ${r + 1}: ${s} ${Math.round(res.messages / (res.ms / 1000))} msg/s, peak RSS ${res.peakRssMiB} MiB, ${res.errors} errors`);
      runs.push(res);
    }
  }
  const big = SUBJECTS.map((s) => child(['--big', s]) as BigResult);
  const rows = SUBJECTS.map((s) => {
    const mine = runs.filter((r) => r.subject === s);
    return {
      subject: s,
      msgsPerSec: median(mine.map((r) => r.messages / (r.ms / 1000))),
      peakRssMiB: median(mine.map((r) => r.peakRssMiB)),
      rssAfterLoadMiB: median(mine.map((r) => r.rssAfterLoadMiB)),
      errors: Math.max(...mine.map((r) => r.errors)),
      samplesPassed: Object.values(correct[s]).filter((b) => b.length === 0).length,
      big: big.find((b) => b.subject === s),
    };
  });
  const base = rows[0]?.msgsPerSec ?? 1;
  const lines = [
    `| parser | msg/s (corpus, ${runs[0]?.messages ?? 0} parses) | ratio to ${rows[0]?.subject} | peak RSS MiB (after load) | errors | malformed samples right (of ${MIME_SAMPLES.length}) | 10 MB parse ms | longest event-loop block ms |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.subject} | ${Math.round(r.msgsPerSec)} | ${(r.msgsPerSec / base).toFixed(2)} | ${r.peakRssMiB} (${r.rssAfterLoadMiB}) | ${r.errors} | ${r.samplesPassed} | ${Math.round(r.big?.ms ?? 0)} | ${Math.round(r.big?.maxBlockMs ?? 0)} |`,
    ),
    '',
    '| sample | ' + SUBJECTS.join(' | ') + ' |',
    '|---|' + SUBJECTS.map(() => '---|').join(''),
    ...MIME_SAMPLES.map((s) => `| ${s.name} | ${SUBJECTS.map((n) => (correct[n][s.name]?.length ? correct[n][s.name]?.join('; ').replace(/\|/g, '\\|') : 'ok')).join(' | ')} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const file = values.out ?? join(projectRoot(), 'bench', 'out', `mime-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ rows, runs, correctness: correct }, null, 2)}\n`);
  log(`report written to ${file}`);
}

await main();
