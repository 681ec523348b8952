// HAProxy (Debian 12: 2.6) as a TCP load balancer in front of an SMTP server, speaking the PROXY
// protocol to it (send-proxy = v1, send-proxy-v2 = v2), optionally with SMTP health checks that
// carry the header too (check-send-proxy: v2 sends them as LOCAL, observed; each result is logged
// on stdout, "Health check for server smtp_out/smtp succeeded ...").
// Trusts: /usr/sbin/haproxy to run in the foreground with -db, to bind only the frontend address
// in its config (written to a scratch dir; no pidfile, no chroot, no daemon) and to exit on
// SIGTERM. Readiness is a real TCP connection accepted by the frontend.
// Fails: a start that does not accept within the bound rejects with HAProxy's output (a taken
// port is retried with a fresh one); stop() escalates to SIGKILL by PID (process.ts).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { tcpOpen, waitUntil } from './wait.js';

export interface HaproxyOptions {
  /** The server behind HAProxy (e.g. Moat's PROXY-protocol listener). */
  readonly backendPort: number;
  readonly backendHost?: string;
  /** PROXY protocol version toward the backend; null sends none. Default 2. */
  readonly proxyProtocol?: 1 | 2 | null;
  /** SMTP health checks (option smtpchk) every `healthCheckMs`, with the PROXY header (check-send-proxy). */
  readonly healthCheckMs?: number;
  /** Frontend address; "127.0.0.1" (default) or "::1". */
  readonly host?: '127.0.0.1' | '::1';
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface HaproxyHandle {
  readonly host: string;
  readonly port: number;
  readonly configFile: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

function addr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function haproxyConfig(o: HaproxyOptions, port: number): string {
  const host = o.host ?? '127.0.0.1';
  const version = o.proxyProtocol === undefined ? 2 : o.proxyProtocol;
  const server = [`server smtp ${addr(o.backendHost ?? '127.0.0.1', o.backendPort)}`];
  if (version === 1) server.push('send-proxy');
  if (version === 2) server.push('send-proxy-v2');
  if (o.healthCheckMs !== undefined) server.push('check', `inter ${o.healthCheckMs}`, ...(version ? ['check-send-proxy'] : []));
  return [
    'global',
    '  maxconn 200',
    '  log stdout format raw local0 info',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend smtp_in',
    `  bind ${host.includes(':') ? `[${host}]` : host}:${port}`,
    '  default_backend smtp_out',
    'backend smtp_out',
    ...(o.healthCheckMs !== undefined ? ['  option smtpchk HELO haproxy.test', '  option log-health-checks'] : []),
    `  ${server.join(' ')}`,
    '',
  ].join('\n');
}

/** Starts HAProxy; resolves once its frontend accepts a TCP connection. */
export async function startHaproxy(o: HaproxyOptions): Promise<HaproxyHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-haproxy-'));
  const host = o.host ?? '127.0.0.1';
  return startWithPortRetry(
    async (port) => {
      const configFile = join(dir, `haproxy-${port}.cfg`);
      await writeFile(configFile, haproxyConfig(o, port));
      const proc = startProcess('/usr/sbin/haproxy', ['-db', '-f', configFile], {
        name: `haproxy:${port}`,
        ...(o.registry !== undefined ? { registry: o.registry } : {}),
      });
      try {
        await waitUntil(() => tcpOpen(port, host, 500), { timeoutMs: o.readyTimeoutMs ?? 5000, what: `HAProxy on ${addr(host, port)}`, process: proc });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return {
        host,
        port,
        configFile,
        process: proc,
        stop: async () => {
          await proc.stop();
        },
      };
    },
    { port: o.port, host },
  );
}
