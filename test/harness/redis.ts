// Redis (Debian 12: redis-server 7.0) on loopback for peers that keep state in it (Rspamd's Bayes
// classifier in the accuracy benchmark; Moat's cluster stores later): no persistence (no RDB, no
// AOF), no protected-mode surprises (bound to 127.0.0.1 only), a scratch working dir.
// Trusts: redis-server in the foreground (daemonize no) to bind only the given address and to exit
// on SIGTERM. Readiness is its own answer to PING (+PONG) over the wire.
// Fails: no PONG within the bound rejects with redis' output; a taken port is retried with a fresh
// one; stop() escalates to SIGKILL by PID (process.ts).
import { connect } from 'node:net';
import { startProcess, type ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeScratchDir } from './tmp.js';
import { waitUntil } from './wait.js';

export interface RedisOptions {
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface RedisHandle {
  readonly port: number;
  /** "127.0.0.1:PORT". */
  readonly address: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Resolves with Redis' answer line to an inline PING ("+PONG"). */
export function redisPing(port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`redis PING: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      out += d;
      if (out.includes('\r\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(out.split('\r\n')[0] ?? '');
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write('PING\r\n');
  });
}

export async function startRedis(o: RedisOptions = {}): Promise<RedisHandle> {
  const dir = o.dir ?? (await makeScratchDir('moat-redis-'));
  return startWithPortRetry(
    async (port) => {
      const proc = startProcess(
        '/usr/bin/redis-server',
        ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--protected-mode', 'yes', '--loglevel', 'warning'],
        { name: `redis:${port}`, cwd: dir, ...(o.registry !== undefined ? { registry: o.registry } : {}) },
      );
      try {
        await waitUntil(async () => (await redisPing(port, 1000)) === '+PONG', { timeoutMs: o.readyTimeoutMs ?? 20_000, what: `redis PONG on 127.0.0.1:${port}`, process: proc, intervalMs: 50 });
      } catch (err: unknown) {
        await proc.stop();
        throw err;
      }
      return { port, address: `127.0.0.1:${port}`, process: proc, stop: () => proc.stop().then(() => undefined) };
    },
    { port: o.port },
  );
}
