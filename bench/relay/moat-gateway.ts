// Moat under test: `node dist/src/cli/bin.js start` (supervisor + one worker per core), relaying
// the bench domain to the sink, spool in a scratch dir. Defaults everywhere except: workers auto,
// maxConnectionsPerIp and maxConnectionsPerNet 1000 (all load comes from 127.0.0.1), DNS pointed at a dead loopback port
// (127.0.0.1:9) so no lookup can leave loopback, JSON logs at info.
// Trusts: the gateway to log a `gateway.start` JSON line once every worker listens, and to exit
// on SIGTERM within its shutdownGrace. Extra node flags (e.g. --cpu-prof) reach the workers
// because node:cluster forks them with the supervisor's execArgv.
// Fails: start rejects with the output tail when gateway.start does not come within 30 s; stop()
// escalates to SIGKILL after 30 s (by PID, through the harness's ManagedProcess).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeScratchDir, startProcess, startWithPortRetry } from '../../test/harness/index.js';
import { moatBin } from '../lib/paths.js';
import { RELAY_DOMAIN } from './gateway.js';
import type { GatewayUnderTest } from './gateway.js';

export interface MoatGatewayOptions {
  readonly sinkPort: number;
  /** Scratch dir; default a fresh one. */
  readonly dir?: string;
  /**
   * Node flags for the supervisor, e.g. ["--cpu-prof", "--cpu-prof-dir=DIR"] (Node refuses
   * --cpu-prof in NODE_OPTIONS); node:cluster forks the workers with the same execArgv.
   */
  readonly nodeArgs?: readonly string[];
  /** Config keys merged over the bench defaults. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export function moatBenchConfig(port: number, sinkPort: number, dataDir: string): Record<string, unknown> {
  return {
    hostname: 'mx.moat.test',
    listen: [{ address: `127.0.0.1:${port}` }],
    domains: { [RELAY_DOMAIN]: { relay: [`127.0.0.1:${sinkPort}`] } },
    dataDir,
    dns: { servers: ['127.0.0.1:9'], timeout: '1s' },
    workers: 'auto',
    limits: { maxConnectionsPerIp: 1000, maxConnectionsPerNet: 1000 },
    // A relay-only comparison (Postfix and Haraka do no checks here): the DNS-based checks are off,
    // the local content checks (MIME structure) stay on as in a default config. The filter suite
    // measures full filtering.
    checks: { spf: { enabled: false }, senderDomain: { enabled: false }, auth: { enabled: false }, rdns: { enabled: false }, helo: { enabled: false } },
    shutdownGrace: '10s',
    log: { level: 'info', format: 'json' },
    // The bench runs as root on a throwaway machine; a production setup sets `user:` instead.
    ...(process.getuid?.() === 0 ? { allowRoot: true } : {}),
  };
}

/** Starts Moat on a free loopback port; resolves once every worker listens. */
export async function startMoatGateway(o: MoatGatewayOptions): Promise<GatewayUnderTest> {
  const dir = o.dir ?? (await makeScratchDir('moat-bench-'));
  const bin = moatBin();
  return startWithPortRetry(async (port) => {
    const configFile = join(dir, `moat-${port}.yaml`);
    await writeFile(configFile, stringify({ ...moatBenchConfig(port, o.sinkPort, join(dir, 'data')), ...o.config }));
    const proc = startProcess(process.execPath, [...(o.nodeArgs ?? []), bin, 'start', '--config', configFile], {
      name: `moat:${port}`,
      cwd: dir,
      keepLines: 200,
    });
    try {
      // each worker compiles the rules before it listens: 20-40 s at a load average of 15 on two cores
      await proc.waitForLine(/"event":"gateway\.start"/, 120_000);
    } catch (err: unknown) {
      await proc.stop({ graceMs: 5000 });
      throw new Error(`moat did not start: ${String(err)}`, { cause: err });
    }
    return {
      name: 'moat',
      port,
      roots: () => (proc.running ? [proc.pid] : []),
      stop: async () => {
        await proc.stop({ graceMs: 30_000 });
      },
    } satisfies GatewayUnderTest;
  });
}
