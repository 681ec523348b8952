// Where `moat scan`'s CPU goes, per message: the content checks of a config run one message at a
// time on this thread (the rules inline, not in their thread) as src/cli/scanner.ts builds them,
// each check's data() timed, plus the view, the MIME parse and the rest (session, policy, verdict).
// The pass's total is CPU time (process.cpuUsage: user + system of the whole process, so V8's GC
// threads count, as they do in a real scan): on a shared machine a busy neighbour stretches the
// wall clock far more than the CPU time. The stages are timed with the wall clock (a
// process.cpuUsage() call costs tens of microseconds, which distorted stages of a millisecond)
// and shown as shares of the pass, then as those shares of its CPU time. Warms up first.
// Usage: node dist/bench/scan-stages.js --config FILE [--warmup 200] [--out FILE.jsonl] PATH...
// --out writes one line per message (file, score, action, sorted symbols) for diffing two builds.
// Trusts the config to be a scan config (checks that need the network get the config's resolver).
// Fails: exit 2 on a config that does not validate or no messages.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { INERT, createChecks } from '../src/checks/index.js';
import { scanInputs, type ScanItem } from '../src/cli/scan-input.js';
import { loadConfig } from '../src/config/load.js';
import { bayesPath, openBayesStore, scannerPorts } from '../src/main-stores.js';
import { messageView, type MimeParse } from '../src/pipeline/message.js';
import { createPolicy, PipelineSession, type CheckEntry } from '../src/pipeline/runner.js';
import type { Check } from '../src/pipeline/types.js';
import { systemClock } from '../src/platform/clock.js';
import { createResolver, systemServers } from '../src/platform/dns/index.js';
import { limitsForScan, mimeParser } from '../src/scan/mime/index.js';
import { rulesCheck } from '../src/scan/rules/index.js';

const now = (): number => performance.now();
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const times = new Map<string, number>();
/** The check whose data() is running (one message at a time): the MIME parse it starts is not its own time. */
let current: string | null = null;
const add = (stage: string, ms: number): void => {
  times.set(stage, (times.get(stage) ?? 0) + ms);
};

/** The check with its data() timed. */
function timed(check: Check): Check {
  return {
    ...check,
    open: (session) => {
      const run = check.open(session);
      const data = run.data;
      if (!data) return run;
      return {
        ...run,
        data: async (message, ctx, signal) => {
          const t = now();
          current = check.name;
          try {
            return await data.call(run, message, ctx, signal);
          } finally {
            current = null;
            add(check.name, now() - t);
          }
        },
      };
    },
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { config: { type: 'string' }, warmup: { type: 'string' }, out: { type: 'string' } } });
  if (values.config === undefined || positionals.length === 0) {
    console.error('usage: node dist/bench/scan-stages.js --config FILE [--warmup 200] [--out FILE.jsonl] PATH...');
    return 2;
  }
  const loaded = await loadConfig(values.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) console.error(`${e.path}: ${e.message}`);
    return 2;
  }
  const config = loaded.config;
  const items: ScanItem[] = [];
  for await (const i of scanInputs(positionals)) if (!('error' in i)) items.push(i);
  if (items.length === 0) {
    console.error('no messages');
    return 2;
  }
  const resolver = createResolver({ ...config.dns, servers: config.dns.servers ?? systemServers(), clock: systemClock });
  // Without a learned database the Bayes check fails (its TEMPFAIL symbol): learn first.
  const bayes = existsSync(bayesPath(config)) ? await openBayesStore(config, { readonly: true }) : INERT.bayes;
  const checksConfig = { ...config.checks, bayes: { ...config.checks.bayes, autoLearn: null } };
  const ruleFiles = { read: (p: string) => readFile(p), list: (d: string) => readdir(d) };
  const built = createChecks(checksConfig, config.domains, { ...INERT, resolver, clock: systemClock, hostname: config.hostname, scanners: scannerPorts(), bayes, ruleFiles }, false, config);
  const taken = new Set(built.filter((e) => e.check.name !== 'rules').flatMap((e) => e.check.symbols.map((s) => s.name)));
  const checks: CheckEntry[] = built.map((e) => ({ ...e, check: timed(e.check.name === 'rules' ? rulesCheck(config.checks.rules, { files: ruleFiles }, { taken, runner: 'inline' }) : e.check) }));
  const policy = createPolicy(checks, config.policy);
  const bounded = mimeParser(limitsForScan(config.policy.scanLimit));
  const parse: MimeParse = async (v) => {
    const t = now();
    const p = await bounded(v);
    const ms = now() - t;
    add('(MIME parse)', ms);
    if (current !== null) add(current, -ms);
    return p;
  };
  const session = { id: 'scan', clientIp: '127.0.0.1', clientPort: 0, localIp: '127.0.0.1', localPort: 0 };
  const lines: string[] = [];
  const pass = async (list: readonly ScanItem[], keep: boolean): Promise<{ cpu: number; wall: number }> => {
    times.clear();
    const t0 = cpuMs();
    const w0 = now();
    for (const item of list) {
      const limit = config.policy.scanLimit;
      const raw = item.raw;
      const t = now();
      const view = messageView(raw.length > limit ? raw.subarray(0, limit) : raw, raw.length, async function* () {
        yield raw;
      }, parse);
      add('(view)', now() - t);
      const s = new PipelineSession({ checks, policy, isLocal: (d) => Object.hasOwn(config.domains, d) }, session);
      const v = await s.data(view, { from: null, recipients: [] }, AbortSignal.timeout(config.policy.scanTimeout));
      if (keep) lines.push(JSON.stringify({ file: item.file, score: v.score, action: v.action, symbols: v.findings.map((f) => `${f.symbol}:${f.score}`).sort() }));
    }
    return { cpu: cpuMs() - t0, wall: now() - w0 };
  };
  const warm = Math.min(items.length, Number(values.warmup ?? 200));
  await pass(items.slice(0, warm), false);
  const { cpu, wall } = await pass(items, true);
  const n = items.length;
  add('(rest: session, policy, verdict)', wall - [...times.values()].reduce((a, b) => a + b, 0));
  console.log(`${n} messages, one thread: ${cpu.toFixed(0)} ms CPU (${(cpu / n).toFixed(3)} ms/message, ${((1000 * n) / cpu).toFixed(0)} msg/s per core), ${wall.toFixed(0)} ms wall`);
  console.log('| stage | share (wall) | CPU ms at that share | ms/message |\n|---|---:|---:|---:|');
  for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${((100 * v) / wall).toFixed(1)}% | ${((cpu * v) / wall).toFixed(0)} | ${((cpu * v) / wall / n).toFixed(3)} |`);
  if (values.out !== undefined) await writeFile(values.out, `${lines.join('\n')}\n`);
  await bayes.close();
  return 0;
}

process.exitCode = await main();
