/**
 * DNS over UDP (RFC 1035 §4.2.1) to one server through a small pool of connected sockets. Each
 * socket is bound by the kernel to a random ephemeral port and connected to the server, so the
 * kernel drops datagrams from any other address; it carries several queries at once, told apart
 * by random ids unique on that socket (RFC 5452 §9.2), and is retired after `queriesPerSocket`
 * queries and closed as soon as nothing is pending on it: a quiet resolver uses a fresh port per
 * query, a busy one at most `maxSockets` descriptors per server.
 * Trusts: the kernel's connected-socket filtering; message.ts for the reply checks.
 * Fails: never throws. A datagram that matches no pending query (id, question, flags) is dropped
 * (counted) and the wait goes on; no matching reply before the deadline is TIMEOUT (BADRESPONSE if
 * a matching but undecodable one came); a socket error (ICMP port unreachable) is NETWORK for every
 * query pending on that socket, which is then closed.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { bounded, randomId } from './client.js';
import type { Exchange, ExchangeOptions, Server } from './client.js';
import { checkReply, encodeQuery } from './message.js';
import type { Query } from './message.js';

interface Pending {
  readonly query: Query;
  readonly settle: (e: Exchange) => void;
  readonly sawMalformed: () => void;
}

class PooledSocket {
  readonly socket: Socket;
  readonly pending = new Map<number, Pending>();
  used = 0;
  connected = false;
  closed = false;
  readonly #queue: Buffer[] = [];

  constructor(server: Server, onDrop: (() => void) | undefined, onClose: (s: PooledSocket) => void) {
    this.socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    this.socket.on('error', () => {
      for (const p of [...this.pending.values()]) p.settle({ kind: 'fail', code: 'NETWORK' });
      this.close();
    });
    this.socket.on('close', () => onClose(this));
    this.socket.on('message', (msg: Buffer) => {
      const p = msg.length >= 2 ? this.pending.get(msg.readUInt16BE(0)) : undefined;
      const r = p === undefined ? 'mismatch' : checkReply(msg, p.query);
      if (p === undefined || r === 'mismatch') onDrop?.();
      else if (r === 'malformed') p.sawMalformed();
      else p.settle({ kind: 'reply', reply: r });
    });
    this.socket.connect(server.port, server.host, () => {
      if (this.closed) return;
      this.connected = true;
      for (const b of this.#queue.splice(0)) this.#send(b);
    });
  }

  send(buf: Buffer): void {
    if (this.connected) this.#send(buf);
    else this.#queue.push(buf);
  }

  #send(buf: Buffer): void {
    this.socket.send(buf, (err) => {
      if (err) this.socket.emit('error', err);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

export interface UdpPoolLimits {
  readonly maxSockets: number;
  readonly queriesPerSocket: number;
}

export class UdpPool {
  readonly #server: Server;
  readonly #limits: UdpPoolLimits;
  readonly #onDrop: (() => void) | undefined;
  /** Sockets that take new queries (not yet retired). */
  readonly #open = new Set<PooledSocket>();

  constructor(server: Server, limits: UdpPoolLimits, onDrop?: () => void) {
    this.#server = server;
    this.#limits = { maxSockets: Math.max(1, limits.maxSockets), queriesPerSocket: Math.max(1, limits.queriesPerSocket) };
    this.#onDrop = onDrop;
  }

  /** Sockets currently open (for tests). */
  get sockets(): number {
    return this.#open.size;
  }

  #pick(): PooledSocket {
    if (this.#open.size < this.#limits.maxSockets) {
      const s = new PooledSocket(this.#server, this.#onDrop, (closed) => this.#open.delete(closed));
      this.#open.add(s);
      return s;
    }
    let skip = Math.floor(Math.random() * this.#open.size);
    let last: PooledSocket | undefined;
    for (const s of this.#open) {
      last = s;
      if (skip-- === 0) break;
    }
    return last as PooledSocket;
  }

  /** One query (its id is chosen here); waits for the first datagram that matches it. */
  exchange(q: Omit<Query, 'id'>, opts: ExchangeOptions): Promise<Exchange> {
    const s = this.#pick();
    let id = randomId();
    while (s.pending.has(id)) id = randomId();
    const query: Query = { ...q, id };
    if (++s.used >= this.#limits.queriesPerSocket) this.#open.delete(s);
    return bounded(
      opts,
      () => {
        s.pending.delete(id);
        if (s.pending.size === 0) {
          this.#open.delete(s);
          s.close();
        }
      },
      (settle, onTimeout) => {
        s.pending.set(id, { query, settle, sawMalformed: () => onTimeout(() => ({ kind: 'fail', code: 'BADRESPONSE' })) });
        s.send(encodeQuery(query));
      },
    );
  }
}
