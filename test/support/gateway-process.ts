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

/**
 * Checks that ask DNS about each client or sender are off in test gateways unless a test's `checks` turns them
 * on: the default test DNS (127.0.0.1:9) answers nothing, and their temperror findings would show in
 * every message's headers and symbols.
 */
export const QUIET_CHECKS: Readonly<Record<string, unknown>> = {
  spf: { enabled: false },
  senderDomain: { enabled: false },
  auth: { enabled: false },
  rdns: { enabled: false },
  helo: { enabled: false },
};

export interface GatewayProcess {
  readonly port: number;
  /** The admin listener (GET /metrics, /healthz), on a free loopback port of its own. */
  readonly adminPort: number;
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
  /** The admin listener's port (default: a free one), for configs that must name it (admin.publicUrl). */
  readonly adminPort?: number;
  /** Another copy of bin.js (e.g. one an unprivileged user can read, app-copy.ts). */
  readonly bin?: string;
  /** Added to the gateway's environment (e.g. NODE_OPTIONS for the module tracer, module-trace.ts). */
  readonly env?: Readonly<Record<string, string>>;
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
  const adminPort = o.adminPort ?? (await freePort());
  const dataDir = join(o.dir, 'data');
  const configFile = join(o.dir, 'moat.yaml');
  let config: Record<string, unknown> = {
    hostname: 'mx.moat.test',
    listen: [{ address: `127.0.0.1:${port}`, ...(o.listenTls ? { tls: o.listenTls } : {}) }],
    domains: { 'example.test': { relay: [`127.0.0.1:${o.relayPort}`] } },
    dataDir,
    dns: { servers: ['127.0.0.1:9'], timeout: '1s' },
    workers: 2,
    limits: { maxConnectionsPerIp: 500, maxConnectionsPerNet: 1000 },
    queue: { retrySchedule: ['1s'] },
    delivery: { idleConnectionTime: '1s' },
    shutdownGrace: '5s',
    log: { level: 'debug', format: 'json' },
    // Tests run as root; the privilege drop itself is tested in privileges.test.ts.
    ...(process.getuid?.() === 0 ? { allowRoot: true } : {}),
    admin: { listen: `127.0.0.1:${adminPort}` },
    ...o.config,
    checks: { ...QUIET_CHECKS, ...(o.config?.['checks'] as Record<string, unknown> | undefined) },
  };
  await writeFile(configFile, stringify(config));
  const proc = startProcess(process.execPath, [o.bin ?? BIN, 'start', '--config', configFile], { name: 'moat', cwd: o.dir, keepLines: 200_000, ...(o.env ? { env: o.env } : {}) });
  // Generous: three Node processes load the whole program on two shared cores.
  await proc.waitForLine(/"event":"gateway.start"/, 90_000).catch((e: unknown) => {
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
    adminPort,
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
        // A line of this event that did not match is already there, so waitForLine would resolve at
        // once: poll instead, which lets the child's output in (a loop of resolved promises never does).
        if (events().some((e) => e['event'] === event)) {
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
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
