// Content checks on the SpamAssassin corpus (`node dist/bench/content-checks.js`): for each group
// (easy-ham, hard-ham, spam), how many URLs the extractor finds per message, what extraction and
// the urls and attachments checks cost per message (DNS off: no zones), and how often each symbol
// fires — the false-positive side of the link signs is read off the ham groups.
// Usage: node dist/bench/content-checks.js [--limit N]
// Fails: exit 1 when the corpus cannot be installed (bench/mime/corpus.ts).
import { parseArgs } from 'node:util';
import { messageView } from '../src/pipeline/message.js';
import type { Resolver } from '../src/platform/dns/index.js';
import { attachmentsCheck, attachmentsSchema } from '../src/scan/attachments/index.js';
import { DEFAULT_EXTRACT, extractUrlSet } from '../src/scan/urls/extract.js';
import { urlsCheck, urlsSchema } from '../src/scan/urls/index.js';
import { corpusDir, loadCorpus } from './mime/corpus.js';

const { values } = parseArgs({ options: { limit: { type: 'string' } } });
const limit = values.limit === undefined ? Infinity : Number(values.limit);
const session = { id: 'bench', clientIp: '192.0.2.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 };
const ctx = { session, facts: {}, tx: { authResults: [] }, isLocal: () => false, from: null, recipients: [] };
const noDns = new Proxy({} as Resolver, { get: () => () => Promise.reject(new Error('no DNS in this benchmark')) });

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function main(): Promise<void> {
  const messages = await loadCorpus(await corpusDir((l) => console.error(l)), limit);
  const urlsDef = urlsCheck(urlsSchema.parse({}), { resolver: noDns });
  const attachmentsDef = attachmentsCheck(attachmentsSchema.parse({}));
  const urls = urlsDef.open(session);
  const attachments = attachmentsDef.open(session);
  // Default scores and hard actions of the symbols, to count the messages these checks would move.
  const defs = new Map([...urlsDef.symbols, ...attachmentsDef.symbols].map((d) => [d.name, d]));
  interface Group {
    n: number;
    readonly counts: number[];
    readonly extract: number[];
    readonly urls: number[];
    readonly attach: number[];
    readonly fired: Map<string, number>;
    /** Messages with a positive default score from these checks; with a hard action; with 5 or more. */
    scored: number;
    hard: number;
    five: number;
  }
  const groups = new Map<string, Group>();
  for (const m of messages) {
    const group = m.group.replace(/-\d+$/, '');
    const g: Group = groups.get(group) ?? { n: 0, counts: [], extract: [], urls: [], attach: [], fired: new Map<string, number>(), scored: 0, hard: 0, five: 0 };
    groups.set(group, g);
    g.n++;
    const view = messageView(m.raw, m.raw.length, async function* () {});
    const mime = await view.mime();
    let t = performance.now();
    const set = extractUrlSet(mime, { ...DEFAULT_EXTRACT });
    g.extract.push(performance.now() - t);
    g.counts.push(set.urls.length);
    t = performance.now();
    const f = [...((await urls.data?.(view, ctx, AbortSignal.timeout(10_000))) ?? [])];
    g.urls.push(performance.now() - t);
    t = performance.now();
    f.push(...((await attachments.data?.(view, ctx, AbortSignal.timeout(10_000))) ?? []));
    g.attach.push(performance.now() - t);
    const fired = new Set(f.map((x) => x.symbol));
    for (const s of fired) g.fired.set(s, (g.fired.get(s) ?? 0) + 1);
    const score = [...fired].reduce((sum, s) => sum + (defs.get(s)?.score ?? 0), 0);
    if (score > 0) g.scored++;
    if (score >= 5) g.five++;
    if ([...fired].some((s) => defs.get(s)?.action !== undefined)) g.hard++;
  }
  for (const [name, g] of groups) {
    console.log(`${name}: ${g.n} messages; URLs per message median ${quantile(g.counts, 0.5)}, p95 ${quantile(g.counts, 0.95)}, max ${Math.max(...g.counts)}`);
    console.log(`  extract ms/message: median ${quantile(g.extract, 0.5).toFixed(3)}, p99 ${quantile(g.extract, 0.99).toFixed(2)}, max ${Math.max(...g.extract).toFixed(2)}`);
    console.log(`  urls check ms/message (its own extraction + signs, no zones): median ${quantile(g.urls, 0.5).toFixed(3)}, p99 ${quantile(g.urls, 0.99).toFixed(2)}`);
    console.log(`  attachments check ms/message: median ${quantile(g.attach, 0.5).toFixed(3)}, p99 ${quantile(g.attach, 0.99).toFixed(2)}, max ${Math.max(...g.attach).toFixed(2)}`);
    const pct = (n: number): string => `${n} (${((100 * n) / g.n).toFixed(1)}%)`;
    console.log(`  messages with a positive score from these checks: ${pct(g.scored)}; score >= 5 (the default tag threshold): ${pct(g.five)}; a hard action (ATTACH_BLOCKED): ${pct(g.hard)}`);
    for (const [s, n] of [...g.fired].sort((a, b) => b[1] - a[1])) console.log(`  ${s.padEnd(26)} ${String(n).padStart(5)}  ${((100 * n) / g.n).toFixed(1)}%`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
