/**
 * The real gateway as a separate process tree (`moat start`: supervisor + cluster workers), for
 * end-to-end tests. Writes a config into a scratch dir, starts dist/src/cli/bin.js, waits for the
 * `gateway.start` log line, and can stop it (SIGTERM), reload it (SIGHUP) or crash it (SIGKILL to the
 * whole tree). Logs are JSON lines; `events()` parses them.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../harness/ports.js';
import { startProcess, type ManagedProcess } from '../harness/process.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

export interface GatewayProcess {
  readonly port: number;
  readonly configFile: string;
  readonly dataDir: string;
  readonly process: ManagedProcess;
  config: Record<string, unknown>;
  events(): Record<string, unknown>[];
  waitForEvent(event: string, match?: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  rewriteConfig(patch: Record<string, unknown>): Promise<void>;
  stop(): Promise<number | null>;
  crash(): Promise<void>;
  /** Runs `moat <args>` against this gateway's config. */
  cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export interface GatewayOptions {
  readonly dir: string;
  readonly relayPort: number;
  readonly config?: Record<string, unknown>;
  readonly port?: number;
  /** STARTTLS on the listener with this certificate. */
  readonly listenTls?: { readonly cert: string; readonly key: string };
}

/** The PIDs of a process and all its descendants (Linux /proc). */
export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(...processTree(Number(task)));
  } catch {
    // gone already
  }
  return out;
}

export async function startGateway(o: GatewayOptions): Promise<GatewayProcess> {
  const port = o.port ?? (await freePort());
  const dataDir = join(o.dir, 'data');
  const configFile = join(o.dir, 'moat.yaml');
  let config: Record<string, unknown> = {
    hostname: 'mx.moat.test',
    listen: [{ address: `127.0.0.1:${port}`, ...(o.listenTls ? { tls: o.listenTls } : {}) }],
    domains: { 'example.test': { relay: [`127.0.0.1:${o.relayPort}`] } },
    dataDir,
    dns: { servers: ['127.0.0.1:9'], timeout: '1s' },
    workers: 2,
    limits: { maxConnectionsPerIp: 500 },
    queue: { retrySchedule: ['1s'] },
    delivery: { idleConnectionTime: '1s' },
    shutdownGrace: '5s',
    // The DNS server above is a dead port: the connection reputation checks (on by default) stay off
    // unless a test turns them on with a DNS server of its own.
    checks: { rdns: { enabled: false }, helo: { enabled: false } },
    log: { level: 'debug', format: 'json' },
    ...o.config,
  };
  await writeFile(configFile, stringify(config));
  const proc = startProcess(process.execPath, [BIN, 'start', '--config', configFile], { name: 'moat', cwd: o.dir, keepLines: 200_000 });
  await proc.waitForLine(/"event":"gateway.start"/, 20_000).catch((e: unknown) => {
    throw new Error(`gateway did not start: ${String(e)}\n${proc.tail(40)}`);
  });
  const events = (): Record<string, unknown>[] =>
    proc.lines('stdout').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const gw: GatewayProcess = {
    port,
    configFile,
    dataDir,
    process: proc,
    get config() {
      return config;
    },
    set config(c) {
      config = c;
    },
    events,
    async waitForEvent(event, match = () => true, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events().find((e) => e['event'] === event && match(e));
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no ${event} within ${timeoutMs} ms\n${proc.tail(30)}`);
        await proc.waitForLine(new RegExp(`"event":"${event.replace('.', '\\.')}"`), Math.max(50, Math.min(500, deadline - Date.now()))).catch(() => undefined);
      }
    },
    async rewriteConfig(patch) {
      config = { ...config, ...patch };
      await writeFile(configFile, stringify(config));
    },
    async stop() {
      proc.signal('SIGTERM');
      const exit = await proc.waitExit(30_000);
      return exit?.code ?? null;
    },
    async crash() {
      const pids = processTree(proc.pid);
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await proc.waitExit(10_000);
    },
    async cli(...args) {
      const { runCommand } = await import('../harness/process.js');
      const r = await runCommand(process.execPath, [BIN, ...args, '--config', configFile], { timeoutMs: 30_000 });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  };
  return gw;
}
