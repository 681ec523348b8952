/**
 * The wire: one DNS query to one server over UDP (RFC 1035 §4.2.1), and over TCP with the 2-octet
 * length prefix (RFC 1035 §4.2.2, RFC 7766) when the UDP reply came back truncated.
 * Each UDP try uses a fresh socket connected to the server, so the kernel picks a random source
 * port and drops datagrams from any other address; ids are random (RFC 5452 §9.2).
 * Trusts: the kernel's connected-socket filtering; message.ts for the reply checks.
 * Fails: never throws. A datagram that does not match the query is dropped (counted) and the wait
 * goes on; no matching reply before the deadline is TIMEOUT (BADRESPONSE if a matching but
 * undecodable one came); socket errors (ICMP unreachable, refused TCP) are NETWORK; the caller's
 * signal gives ABORTED. Every socket and timer is released on every path.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import type { Clock } from '../clock.js';
import { checkReply, encodeQuery } from './message.js';
import type { Query, Reply } from './message.js';

export interface Server {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type Exchange = { readonly kind: 'reply'; readonly reply: Reply } | { readonly kind: 'fail'; readonly code: 'TIMEOUT' | 'NETWORK' | 'BADRESPONSE' | 'ABORTED' };

export interface ExchangeOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly signal?: AbortSignal | undefined;
  /** Called for each dropped datagram (wrong id, question or flags). */
  readonly onDrop?: () => void;
}

export function randomId(): number {
  return randomInt(0x10000);
}

/**
 * Runs `start` with a settle function that runs at most once: it cancels the deadline, detaches the
 * abort listener and calls `cleanup` before resolving.
 */
function bounded(opts: ExchangeOptions, cleanup: () => void, start: (settle: (e: Exchange) => void, onTimeout: (f: () => Exchange) => void) => void): Promise<Exchange> {
  return new Promise<Exchange>((resolve) => {
    let done = false;
    let timeoutResult: () => Exchange = () => ({ kind: 'fail', code: 'TIMEOUT' });
    const onAbort = (): void => settle({ kind: 'fail', code: 'ABORTED' });
    const timer = opts.clock.setTimer(opts.timeoutMs, () => settle(timeoutResult()));
    function settle(e: Exchange): void {
      if (done) return;
      done = true;
      timer.cancel();
      opts.signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve(e);
    }
    if (opts.signal?.aborted === true) {
      settle({ kind: 'fail', code: 'ABORTED' });
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    start(settle, (f) => {
      timeoutResult = f;
    });
  });
}

/** One query over UDP; waits for the first datagram that matches it. */
export function exchangeUdp(server: Server, q: Query, opts: ExchangeOptions): Promise<Exchange> {
  const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
  let closed = false;
  return bounded(
    opts,
    () => {
      closed = true;
      socket.close();
    },
    (settle, onTimeout) => {
      socket.on('error', () => settle({ kind: 'fail', code: 'NETWORK' }));
      socket.on('message', (msg: Buffer) => {
        const r = checkReply(msg, q);
        if (r === 'mismatch') opts.onDrop?.();
        else if (r === 'malformed') onTimeout(() => ({ kind: 'fail', code: 'BADRESPONSE' }));
        else settle({ kind: 'reply', reply: r });
      });
      socket.connect(server.port, server.host, () => {
        if (closed) return;
        socket.send(encodeQuery(q), (err) => {
          if (err) settle({ kind: 'fail', code: 'NETWORK' });
        });
      });
    },
  );
}

/** One query over TCP: connect, send length-prefixed, read one length-prefixed reply, close. */
export function exchangeTcp(server: Server, q: Query, opts: ExchangeOptions): Promise<Exchange> {
  const socket = tcpConnect({ host: server.host, port: server.port });
  return bounded(
    opts,
    () => socket.destroy(),
    (settle) => {
      let buf: Buffer = Buffer.alloc(0);
      socket.on('error', () => settle({ kind: 'fail', code: 'NETWORK' }));
      socket.on('close', () => settle({ kind: 'fail', code: 'NETWORK' }));
      socket.on('connect', () => {
        const body = encodeQuery(q);
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(body.length, 0);
        socket.write(Buffer.concat([len, body]));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        // Over TCP the connection is ours alone: anything but the answer to our query is a broken server.
        const r = checkReply(buf.subarray(2, 2 + buf.readUInt16BE(0)), q);
        settle(r === 'mismatch' || r === 'malformed' || r.truncated ? { kind: 'fail', code: 'BADRESPONSE' } : { kind: 'reply', reply: r });
      });
    },
  );
}
