// Sender-authentication micro-benchmark: `node dist/bench/auth-checks.js [--runs N] [--ttl S]` (after
// `npm run build`). Starts a dnsmasq on loopback with an SPF record, a 2048-bit RSA DKIM key and a
// DMARC record (answer TTL S; 0, the default, means every lookup goes to dnsmasq, our cache never
// hits), then times N sequential runs of the spf check (MAIL) and of the auth check (DKIM verify,
// ARC, DMARC) on a small signed message, after 20 warm-up runs. Prints one Markdown table.
// Bounded: N ≤ 10000 runs per check. Fails: exit 1 if a run does not pass; stops dnsmasq by PID.
import { parseArgs } from 'node:util';
import { removeAllScratchDirs, startDnsmasq, stopAll } from '../test/harness/index.js';
import { context, mailbox, NO_PARAMS, resolverFor, session } from '../test/support/check-context.js';
import { message, rsaKey, sign } from '../test/support/dkim-keys.js';
import { spfCheck, spfSchema } from '../src/checks/spf/index.js';
import { messageView } from '../src/pipeline/message.js';
import { systemClock } from '../src/platform/clock.js';
import { authCheck, authSchema } from '../src/scan/auth/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '300' }, ttl: { type: 'string', default: '0' } } });
const N = Math.max(1, Math.min(10_000, Number(values.runs)));
const TTL = Math.max(0, Number(values.ttl));
const pick = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;

async function times(run: () => Promise<boolean>): Promise<number[]> {
  for (let i = 0; i < 20; i++) if (!(await run())) throw new Error('a warm-up run did not pass');
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    if (!(await run())) throw new Error('a run did not pass');
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  const key = rsaKey();
  const dns = await startDnsmasq({
    localTtl: TTL,
    txt: [
      { name: 'good.test', text: 'v=spf1 ip4:127.0.0.1 -all' },
      { name: 'sel1._domainkey.good.test', text: key.record },
      { name: '_dmarc.good.test', text: 'v=DMARC1; p=reject' },
    ],
  });
  try {
    const resolver = resolverFor(dns.server);
    const spf = spfCheck(spfSchema.parse({}), { resolver, hostname: 'mx.moat.test' });
    const auth = authCheck(authSchema.parse({}), { resolver, clock: systemClock });
    const raw = Buffer.from(await sign(message({ from: 'alice@good.test' }), 'good.test', 'sel1', key));
    const spfTimes = await times(async () => {
      const ctx = context({ helo: 'client.test' });
      await spf.open(session()).mailFrom?.(mailbox('alice@good.test'), NO_PARAMS, ctx, AbortSignal.timeout(5000));
      return ctx.tx.spf?.result === 'pass';
    });
    const authTimes = await times(async () => {
      const ctx = { ...context(), from: null, recipients: [] };
      ctx.tx.spf = { result: 'pass', domain: 'good.test' };
      const view = messageView(raw, raw.length, async function* () {});
      const found = (await auth.open(session()).data?.(view, ctx, AbortSignal.timeout(5000))) ?? [];
      return found.some((f) => f.symbol === 'DMARC_PASS');
    });
    const s = resolver.stats();
    process.stdout.write(`| check (${N} runs, DNS TTL ${TTL}) | median ms | p95 ms |\n|---|---|---|\n`);
    for (const [name, t] of [['spf (MAIL)', spfTimes], ['auth (DKIM+ARC+DMARC, 2 KB, RSA-2048)', authTimes]] as const) {
      process.stdout.write(`| ${name} | ${pick(t, 0.5).toFixed(2)} | ${pick(t, 0.95).toFixed(2)} |\n`);
    }
    process.stdout.write(`\nDNS messages sent: ${s.queries}, cache hits: ${s.cacheHits}\n`);
  } finally {
    await stopAll();
    await removeAllScratchDirs();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
