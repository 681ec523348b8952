/**
 * The supervisor's listening sockets (DESIGN.md §4). The supervisor binds every SMTP listener
 * itself, at start before it drops root (ports below 1024), and keeps them for its whole life; each
 * accepted connection is handed, unread (pauseOnConnect), to a ready worker in turn over IPC, which
 * is what node:cluster's round-robin does too. Owning the sockets here means that a restarted
 * worker (even the only one) finds its listeners still bound, and that a reload which cannot bind
 * a new address (taken, or below 1024 after root was dropped) is refused before any worker sees it.
 * Trusts: nothing from the connection; it never reads a byte of it.
 * Fails: bind errors are BindError with the errno and what to do; a connection that finds no ready
 * worker waits in a bounded queue (the oldest is dropped when it is full); one that cannot be handed
 * over is closed.
 */
import type { Worker as ClusterWorker } from 'node:cluster';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../platform/logger.js';

export class BindError extends Error {
  readonly code = 'BIND';
  readonly transient = false;
}

export interface ListenSocketsOptions {
  /** Workers ready for connections, in a stable order. */
  readonly ready: () => readonly ClusterWorker[];
  readonly logger: Logger;
  /** Connections held while no worker is ready. Default 512. */
  readonly maxWaiting?: number;
  /** Started as root and dropped it: explains EACCES. */
  readonly droppedRoot?: () => boolean;
}

/** Message sent with a connection's socket as its handle. */
export interface ConnectionMessage {
  readonly type: 'connection';
  readonly address: string;
}

function split(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new BindError(`bad listen address ${address}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

export class ListenSockets {
  private readonly servers = new Map<string, Server>();
  /** Addresses whose connections may go to workers (the workers know the listener). */
  private readonly live = new Set<string>();
  private readonly waiting: { address: string; socket: Socket }[] = [];
  private turn = 0;

  constructor(private readonly o: ListenSocketsOptions) {}

  has(address: string): boolean {
    return this.servers.has(address);
  }

  get addresses(): string[] {
    return [...this.servers.keys()];
  }

  /** Binds and listens; connections wait until `activate(address)`. */
  async bind(address: string): Promise<void> {
    const { host, port } = split(address);
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.accepted(address, socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new BindError(this.explain(address, port, e))));
      // ipv6Only so "[::]:25" and "0.0.0.0:25" can be configured side by side.
      server.listen({ host, port, ipv6Only: host.includes(':'), backlog: 511 }, () => resolve());
    });
    server.on('error', (e) => this.o.logger.error('session.error', { listener: address, error: e.message }));
    this.servers.set(address, server);
  }

  activate(address: string): void {
    this.live.add(address);
    this.flush();
  }

  /** Stops accepting on one address; its queued connections are closed. */
  close(address: string): void {
    this.servers.get(address)?.close();
    this.servers.delete(address);
    this.live.delete(address);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i];
      if (w?.address !== address) continue;
      w.socket.destroy();
      this.waiting.splice(i, 1);
    }
  }

  closeAll(): void {
    for (const a of [...this.servers.keys()]) this.close(a);
  }

  /** Hands queued connections out (call when a worker became ready or an address went live). */
  flush(): void {
    const held = this.waiting.splice(0);
    for (const w of held) this.accepted(w.address, w.socket);
  }

  private accepted(address: string, socket: Socket): void {
    if (socket.destroyed) return;
    const workers = this.o.ready();
    if (workers.length === 0 || !this.live.has(address)) {
      if (this.waiting.length >= (this.o.maxWaiting ?? 512)) this.waiting.shift()?.socket.destroy();
      socket.on('error', () => undefined);
      this.waiting.push({ address, socket });
      return;
    }
    const w = workers[this.turn++ % workers.length] as ClusterWorker;
    w.send({ type: 'connection', address } satisfies ConnectionMessage, socket, (err) => {
      if (err) socket.destroy();
    });
  }

  private explain(address: string, port: number, e: NodeJS.ErrnoException): string {
    const why = e.code ?? e.message;
    if (e.code === 'EACCES' && port < 1024) {
      return this.o.droppedRoot?.()
        ? `cannot bind ${address}: ${why}: root was dropped after the listeners were bound at start; restart Moat to add a port below 1024`
        : `cannot bind ${address}: ${why}: ports below 1024 need root (with user:) or CAP_NET_BIND_SERVICE`;
    }
    if (e.code === 'EADDRINUSE') return `cannot bind ${address}: ${why}: another program listens there`;
    if (e.code === 'EADDRNOTAVAIL') return `cannot bind ${address}: ${why}: no such local address`;
    return `cannot bind ${address}: ${why}`;
  }
}
