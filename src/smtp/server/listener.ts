/**
 * Listeners: accepts TCP connections on the configured addresses and runs one Session per connection.
 * Before any greeting: on a PROXY-protocol listener, the peer must be a trusted proxy and its header
 * (proxy-protocol.ts) must arrive whole within a short deadline, or the connection is closed without
 * a word; then the connection gate (admission.ts: total, per IP, per network, rate, gateway-wide)
 * admits the client, or it gets 421 4.7.0 and is closed. The client address every later check, log
 * and trace header sees is the canonical one (IPv4-mapped IPv6 as IPv4), the proxy's report when
 * there is one. Graceful close: stop accepting, let sessions finish their transaction within a grace
 * period, then cut the rest.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as R from '../reply.js';
import type { SmtpReply } from '../reply.js';
import type { Admission, ConnectionGate, LimitName } from './admission.js';
import type { ConnectionInfo, SessionHandler } from './handler.js';
import { Input } from './input.js';
import { canonicalIp, matchesAny, type Cidr } from './ip.js';
import type { ServerOptions } from './options.js';
import { deadline } from '../../platform/deadline.js';
import { readProxyHeader, type Endpoint } from './proxy-protocol.js';
import { Session, type SessionHooks } from './session.js';

export interface ListenerSettings {
  /** Expect a PROXY protocol v1/v2 header before anything else. */
  readonly proxyProtocol: boolean;
  /** Peers allowed to send that header; every other peer is closed at once. */
  readonly trustedProxies: readonly Cidr[];
  readonly proxyTimeoutMs: number;
}

export type RefusalReason = 'untrusted-proxy' | 'proxy-header-malformed' | 'proxy-header-too-long' | 'proxy-header-missing' | 'proxy-header-timeout';

export interface ListenerEvents {
  /** A connection was refused by a limit with `reply`, before any session existed. */
  limit(client: Endpoint, limit: LimitName, reply: SmtpReply): void;
  /** A connection was closed without a greeting (PROXY protocol); `peer` is the socket's address. */
  refused(peer: Endpoint, reason: RefusalReason): void;
}

export interface ListenerDeps {
  /** Current options; read once per connection so a reload applies to new sessions only. */
  readonly options: () => ServerOptions;
  /** Current PROXY-protocol settings of this listener; none: plain connections. */
  readonly settings?: () => ListenerSettings;
  readonly gate: ConnectionGate;
  readonly openSession: (info: ConnectionInfo) => SessionHandler;
  readonly hooks: SessionHooks;
  readonly events?: ListenerEvents;
}

const PLAIN: ListenerSettings = { proxyProtocol: false, trustedProxies: [], proxyTimeoutMs: 0 };

/** "ip:port" or "[v6]:port" into parts (config has validated it). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`bad listen address ${address}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

function limitReply(limit: LimitName, hostname: string): SmtpReply {
  switch (limit) {
    case 'total':
      return R.tooManyConnections();
    case 'per-ip':
      return R.tooManyConnectionsFromIp();
    case 'per-net':
      return R.tooManyConnectionsFromNet();
    case 'rate':
      return R.connectionRateExceeded();
    case 'unavailable':
      return R.serviceUnavailable(hostname);
  }
}

function endpoint(address: string | undefined, port: number | undefined): Endpoint {
  const a = address ?? '';
  return { address: canonicalIp(a) ?? (a || 'unknown'), port: port ?? 0 };
}

export class SmtpListener {
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<Session>();
  /** Connections not yet a session (PROXY header, admission). */
  private readonly opening = new Set<Socket>();
  private readonly prefix = randomBytes(3).toString('hex');
  private counter = 0;
  private closing = false;

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
    this.closing = true;
    // server.close() only reports back once every connection is gone: start it, don't wait on it.
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    this.servers.length = 0;
    for (const s of this.opening) s.destroy();
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
    socket.on('error', () => undefined);
    this.opening.add(socket);
    void this.open(socket)
      .catch(() => socket.destroy())
      .finally(() => this.opening.delete(socket));
  }

  private async open(socket: Socket): Promise<void> {
    const peer = endpoint(socket.remoteAddress, socket.remotePort);
    let client = peer;
    let server = endpoint(socket.localAddress, socket.localPort);
    const settings = this.deps.settings?.() ?? PLAIN;
    const options = this.deps.options();
    const input = new Input(options.limits.pipelineBuffer);
    const drop = (reason: RefusalReason): void => {
      this.deps.events?.refused(peer, reason);
      input.detach();
      socket.destroy();
    };
    let proxiedBy: string | undefined;
    if (settings.proxyProtocol) {
      if (!matchesAny(peer.address, settings.trustedProxies)) return drop('untrusted-proxy');
      input.attach(socket);
      const wait = deadline(settings.proxyTimeoutMs);
      const header = await readProxyHeader(input, wait.signal)
        .catch(() => null)
        .finally(() => wait.clear());
      if (!header) return drop('proxy-header-timeout');
      if (header.kind === 'invalid') return drop(header.reason === 'closed' ? 'proxy-header-missing' : header.reason === 'too-long' ? 'proxy-header-too-long' : 'proxy-header-malformed');
      if (header.kind === 'proxied') {
        client = endpoint(header.source.address, header.source.port);
        server = endpoint(header.destination.address, header.destination.port);
        proxiedBy = `${peer.address}:${peer.port}`;
      }
    } else input.attach(socket);

    const admission: Admission = await this.deps.gate.admit(client.address).catch((): Admission => ({ ok: false, limit: 'unavailable' }));
    if (!admission.ok) {
      const reply = limitReply(admission.limit, options.hostname);
      this.deps.events?.limit(client, admission.limit, reply);
      input.detach();
      // Sent in place of the greeting, so with its enhanced status: no EHLO will ever come (as Postfix does).
      socket.end(R.formatReply(reply, true));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    if (this.closing || socket.destroyed) {
      this.deps.gate.release(admission.slot);
      socket.destroy();
      return;
    }
    const info: ConnectionInfo = {
      id: `${this.prefix}${(++this.counter).toString(36)}`,
      remoteAddress: client.address,
      remotePort: client.port,
      localAddress: server.address,
      localPort: server.port,
      ...(proxiedBy ? { proxiedBy } : {}),
    };
    const session = new Session(socket, info, this.deps.openSession(info), options, this.deps.hooks, input);
    this.sessions.add(session);
    this.opening.delete(socket);
    void session.run().finally(() => {
      this.sessions.delete(session);
      this.deps.gate.release(admission.slot);
    });
  }
}
