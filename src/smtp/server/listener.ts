/**
 * Listeners: accepts TCP connections on the configured addresses and runs one Session per connection.
 * Enforces the connection limits (total and per client IP) before any byte is read, with 421 4.7.0.
 * Graceful close: stop accepting, let sessions finish their transaction within a grace period, then
 * cut the rest.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as R from '../reply.js';
import type { ConnectionInfo, SessionHandler } from './handler.js';
import type { ServerOptions } from './options.js';
import { Session, type SessionHooks } from './session.js';

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

export interface ListenerDeps {
  /** Current options; read once per connection so a reload applies to new sessions only. */
  readonly options: () => ServerOptions;
  readonly limits: () => ConnectionLimits;
  readonly openSession: (info: ConnectionInfo) => SessionHandler;
  readonly hooks: SessionHooks;
  /** Called when a connection is refused by a limit, before any session exists. */
  readonly onLimit?: (remoteAddress: string, which: 'total' | 'per-ip') => void;
}

/** "ip:port" or "[v6]:port" into parts (config has validated it). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`bad listen address ${address}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

export class SmtpListener {
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<Session>();
  private readonly perIp = new Map<string, number>();
  private readonly prefix = randomBytes(3).toString('hex');
  private counter = 0;

  constructor(private readonly deps: ListenerDeps) {}

  get activeSessions(): number {
    return this.sessions.size;
  }

  async listen(address: string): Promise<Server> {
    const { host, port } = splitHostPort(address);
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // ipv6Only so "[::]:25" and "0.0.0.0:25" can be configured side by side.
      server.listen({ host, port, ipv6Only: host.includes(':'), backlog: 511 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return server;
  }

  /** Stop accepting; idle sessions get 421 at once, busy ones after their transaction or `graceMs`. */
  async close(graceMs: number): Promise<void> {
    // server.close() only reports back once every connection is gone: start it, don't wait on it.
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    this.servers.length = 0;
    for (const s of this.sessions) s.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.sessions) s.abort();
    while (this.sessions.size > 0 && Date.now() < deadline + 3000) await new Promise((r) => setTimeout(r, 20));
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 1000))]);
  }

  /** Serves a connection accepted elsewhere (the supervisor owns the listening sockets and hands them over). */
  adopt(socket: Socket): void {
    this.accept(socket);
  }

  private accept(socket: Socket): void {
    const remote = socket.remoteAddress ?? 'unknown';
    const limits = this.deps.limits();
    const count = this.perIp.get(remote) ?? 0;
    const which = this.sessions.size >= limits.maxConnections ? 'total' : count >= limits.maxConnectionsPerIp ? 'per-ip' : null;
    if (which) {
      this.deps.onLimit?.(remote, which);
      socket.on('error', () => undefined);
      socket.end(R.formatReply(R.tooManyConnections(), false));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.perIp.set(remote, count + 1);
    const info: ConnectionInfo = {
      id: `${this.prefix}${(++this.counter).toString(36)}`,
      remoteAddress: remote,
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    };
    const session = new Session(socket, info, this.deps.openSession(info), this.deps.options(), this.deps.hooks);
    this.sessions.add(session);
    void session.run().finally(() => {
      this.sessions.delete(session);
      const n = (this.perIp.get(remote) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(remote);
      else this.perIp.set(remote, n);
    });
  }
}
