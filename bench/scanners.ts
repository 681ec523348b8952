// Scan latency per message of the content scanners: `node dist/bench/scanners.js [--messages N] [--size OCTETS]`
// (after `npm run build`). Starts clamd (the test database), spamd (local rules) and Rspamd (DNS to a
// dnsmasq) on loopback with the test harness, then sends N messages one at a time to each through
// Moat's own adapters (src/platform/clamd.ts, spamd.ts, rspamd.ts), after 5 unrecorded warm-up
// messages, and prints one Markdown table: median, p90 and max milliseconds from the first octet
// sent to the parsed answer. The message is a multipart mail of about --size octets (text and a
// base64 attachment). Bounded: N ≤ 2000 per scanner, each scan with a 30 s budget.
// Fails: exit 1 when a scan fails or a clean message is reported infected; stops every peer by PID.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, startClamd, startDnsmasq, startRspamd, startSpamd, stopAll } from '../test/harness/index.js';
import { mimeMessage, viewOf } from '../test/support/scan.js';
import { ClamdClient } from '../src/platform/clamd.js';
import { RspamdClient } from '../src/platform/rspamd.js';
import { SpamdClient } from '../src/platform/spamd.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '200' }, size: { type: 'string', default: '20000' } } });
const N = Math.max(1, Math.min(2000, Number(values.messages)));
const SIZE = Math.max(1000, Math.min(10_000_000, Number(values.size)));
const WARMUP = 5;

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;

function message(i: number): Buffer {
  const attachment = Buffer.alloc(Math.max(0, Math.floor((SIZE - 1500) * 0.74)), `line ${i} of a plain report, nothing to see here\n`);
  return Buffer.from(mimeMessage({ subject: `report ${i}`, text: `Hello,\n\nthe report number ${i} is attached.\n\nRegards\n`, attachments: [{ name: `report-${i}.txt`, content: attachment }] }));
}

async function measure(name: string, scan: (m: Buffer) => Promise<void>): Promise<{ name: string; ms: number[] }> {
  const ms: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const m = message(i);
    const t0 = performance.now();
    await scan(m);
    if (i >= WARMUP) ms.push(performance.now() - t0);
  }
  return { name, ms };
}

async function main(): Promise<void> {
  const signal = (): AbortSignal => AbortSignal.timeout(30_000);
  const load = (loadavg()[0] ?? 0).toFixed(2);
  const dns = await startDnsmasq({});
  const [clamd, spamd, rspamd] = await Promise.all([startClamd(), startSpamd(), startRspamd({ dnsServer: dns.server })]);
  try {
    const av = new ClamdClient({ target: { host: '127.0.0.1', port: clamd.port }, timeoutMs: 30_000, maxSize: 25 * 1024 * 1024, maxConcurrent: 1 });
    const sa = new SpamdClient({ target: { host: '127.0.0.1', port: spamd.port }, timeoutMs: 30_000, maxConcurrent: 1 });
    const rs = new RspamdClient({ url: new URL(rspamd.url), timeoutMs: 30_000, maxConcurrent: 1 });
    const envelope = { ip: '127.0.0.10', helo: 'mail.sender.test', from: 'alice@sender.test', rcpt: ['bob@example.test'] };
    const rows = [
      await measure('clamd (INSTREAM)', async (m) => {
        const r = await av.scan(viewOf(m).stream(), signal());
        if (r.virus !== null) throw new Error(`clean message reported as ${r.virus}`);
      }),
      await measure('rspamd (checkv2)', async (m) => {
        const v = viewOf(m);
        await rs.check({ content: v.stream(), size: v.size, envelope }, signal());
      }),
      await measure('spamd (SYMBOLS)', async (m) => {
        const v = viewOf(m);
        await sa.check({ prefix: Buffer.alloc(0), content: v.stream(), size: v.size }, signal());
      }),
    ];
    const size = message(0).length;
    process.stdout.write(`Scan latency, ${N} messages of ${size} octets each, one at a time (load average at start: ${load})\n\n`);
    process.stdout.write('| scanner | median ms | p90 ms | max ms |\n|---|---:|---:|---:|\n');
    for (const r of rows) process.stdout.write(`| ${r.name} | ${quantile(r.ms, 0.5).toFixed(1)} | ${quantile(r.ms, 0.9).toFixed(1)} | ${Math.max(...r.ms).toFixed(1)} |\n`);
  } finally {
    await stopAll();
    await removeAllScratchDirs();
  }
}

main().catch(async (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  await stopAll();
  process.exit(1);
});
