/**
 * The wire, shared parts: servers, the outcome of one exchange, the deadline/abort wrapper, and DNS
 * over TCP with the 2-octet length prefix (RFC 1035 §4.2.2, RFC 7766), used when a UDP reply
 * (udp.ts) came back truncated. Ids are random (RFC 5452 §9.2).
 * Trusts: message.ts for the reply checks.
 * Fails: never throws. Over TCP the connection is ours alone, so anything but a believable answer
 * to our query is BADRESPONSE; a refused or dropped connection is NETWORK; no reply before the
 * deadline is TIMEOUT; the caller's signal gives ABORTED. Every socket and timer is released on
 * every path.
 */
import { randomInt } from 'node:crypto';
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
}

export function randomId(): number {
  return randomInt(0x10000);
}

/**
 * Runs `start` with a settle function that runs at most once: it cancels the deadline, detaches the
 * abort listener and calls `cleanup` before resolving.
 */
export function bounded(opts: ExchangeOptions, cleanup: () => void, start: (settle: (e: Exchange) => void, onTimeout: (f: () => Exchange) => void) => void): Promise<Exchange> {
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
