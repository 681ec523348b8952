/**
 * Starts the real worker composition (main.ts) inside the test process on a free loopback port, with
 * a scratch dataDir, so protocol tests run against the gateway's real handler, spool and queue
 * without the cluster supervisor. Logs go to an in-memory list the test can inspect.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import { startWorker, type Worker } from '../../src/main.js';
import { createLogger } from '../../src/platform/logger.js';
import { freePort } from '../harness/ports.js';
import { QUIET_CHECKS, ROOT } from './gateway-process.js';

export interface InProcessGateway {
  readonly port: number;
  readonly dataDir: string;
  readonly logs: Record<string, unknown>[];
  readonly worker: Worker;
  stop(): Promise<void>;
}

export async function startInProcess(overrides: Record<string, unknown> = {}, relayPort?: number): Promise<InProcessGateway> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'moat-test-'));
  const raw = {
    hostname: 'mx.moat.test',
    listen: [{ address: `127.0.0.1:${port}` }],
    domains: { 'example.test': { relay: [`127.0.0.1:${relayPort ?? (await freePort())}`] } },
    dataDir,
    dns: { servers: ['127.0.0.1:9'], timeout: '1s' },
    log: { level: 'debug', format: 'json' },
    ...overrides,
    checks: { ...QUIET_CHECKS, ...(overrides['checks'] as Record<string, unknown> | undefined) },
  };
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', destination });
  // The rule thread runs the built script (vitest runs this worker from source; `npm test` builds first).
  const worker = await startWorker(r.config, 0, 1, logger, { ruleThread: pathToFileURL(join(ROOT, 'dist', 'src', 'scan', 'rules', 'worker.js')) });
  return {
    port,
    dataDir,
    logs,
    worker,
    stop: async () => {
      await worker.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
