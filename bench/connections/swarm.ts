// The clients of the connections suite:
//  - idle sessions: connect, read the 220, say EHLO, read the 250, then stay silent; opened with
//    a bounded number in flight so the listen backlog never overflows;
//  - slow clients: connect and trickle a command line one byte per interval (default 1 s) for a
//    bounded time, never completing a transaction;
//  - a legitimate session: greeting, EHLO, MAIL, RCPT, DATA, a small message, "." timed from
//    connect to the end-of-data reply.
// Trusts: the server to be an SMTP server on loopback. Fails: idle and slow sessions never throw:
// their failures are counted with the first reasons kept; every socket is tracked and destroyed
// by close(); every wait is bounded.
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { buildMessage } from '../lib/message.js';
import { expectCode, open } from '../lib/smtp-load.js';
import type { Conversation } from '../lib/smtp-load.js';

export interface IdleSwarm {
  /** Sessions that got their EHLO 250 and are idle now. */
  readonly opened: number;
  readonly failed: number;
  readonly errors: readonly string[];
  readonly openSec: number;
  /** Idle sessions the server has closed since they were opened. */
  closedByServer(): number;
  close(): void;
}

/** Opens `count` idle sessions, at most `inFlight` being set up at once, within `timeoutMs`. */
export async function openIdleSessions(o: { port: number; count: number; inFlight?: number; timeoutMs: number; heloName?: string }): Promise<IdleSwarm> {
  const live = new Set<Socket>();
  const convs: Conversation[] = [];
  const errors: string[] = [];
  let failed = 0;
  let closed = 0;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + o.timeoutMs;
  const one = async (): Promise<void> => {
    const c = await open('127.0.0.1', o.port, Math.max(1000, deadline - performance.now()), live);
    try {
      expectCode(await c.reply(), 220, 'greeting');
      await c.command(`EHLO ${o.heloName ?? 'idle.client.test'}`, 250);
    } catch (err: unknown) {
      c.destroy();
      throw err;
    }
    convs.push(c);
  };
  const worker = async (): Promise<void> => {
    while (next < o.count && performance.now() < deadline) {
      next++;
      try {
        await one();
      } catch (err: unknown) {
        failed++;
        if (errors.length < 10) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.count, o.inFlight ?? 100) }, worker));
  const openSec = (performance.now() - t0) / 1000;
  const opened = convs.length;
  const idle = [...live];
  for (const s of idle) s.once('close', () => closed++);
  return {
    opened,
    failed: failed + (o.count - next),
    errors,
    openSec,
    closedByServer: () => closed,
    close: () => {
      for (const s of idle) s.removeAllListeners('close');
      for (const c of convs) c.destroy();
      for (const s of live) s.destroy();
    },
  };
}

export interface SlowSwarm {
  /** Resolves when the trickle time is over (sockets still open until close()). */
  readonly done: Promise<void>;
  /** Clients that connected. */
  connected(): number;
  /** Clients whose connection the server closed (or reset) while they trickled. */
  cutOff(): number;
  /** Bytes the slow clients managed to send. */
  bytesSent(): number;
  close(): void;
}

/** Starts `count` clients that each send `line` one byte per `byteIntervalMs` for `seconds`. */
export function startSlowClients(o: { port: number; count: number; seconds: number; byteIntervalMs?: number; line?: string }): SlowSwarm {
  const line = o.line ?? 'EHLO slow.client.test\r\n';
  const interval = o.byteIntervalMs ?? 1000;
  const socks = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connected = 0;
  let cutOff = 0;
  let sent = 0;
  let over = false;
  for (let i = 0; i < o.count; i++) {
    const s = connect({ host: '127.0.0.1', port: o.port });
    socks.add(s);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.once('connect', () => {
      connected++;
      let pos = 0;
      // spread the first bytes over one interval so the swarm does not beat in step
      const start = setTimeout(() => {
        const t = setInterval(() => {
          if (over || s.destroyed) return;
          s.write(line[pos % line.length] ?? ' ');
          pos++;
          sent++;
        }, interval);
        timers.add(t);
      }, Math.floor((i / Math.max(1, o.count)) * interval));
      timers.add(start);
    });
    s.once('close', () => {
      if (!over) cutOff++;
    });
  }
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      over = true;
      resolve();
    }, o.seconds * 1000);
    timers.add(t);
  });
  return {
    done,
    connected: () => connected,
    cutOff: () => cutOff,
    bytesSent: () => sent,
    close: () => {
      over = true;
      for (const t of timers) clearTimeout(t);
      for (const s of socks) s.destroy();
    },
  };
}

/** One legitimate transaction; resolves with ms from connect to the end-of-data 250. */
export async function legitSession(o: { port: number; from: string; to: string; timeoutMs: number }): Promise<number> {
  const live = new Set<Socket>();
  const body = buildMessage({ from: o.from, to: o.to, bodySize: 1024, id: `legit.${process.pid}.${Date.now()}` });
  const t0 = performance.now();
  const c = await open('127.0.0.1', o.port, o.timeoutMs, live);
  try {
    expectCode(await c.reply(), 220, 'greeting');
    await c.command('EHLO legit.client.test', 250);
    await c.command(`MAIL FROM:<${o.from}>`, 250);
    await c.command(`RCPT TO:<${o.to}>`, 250);
    await c.command('DATA', 354);
    await c.write(body);
    const pending = c.reply();
    await c.write('.\r\n');
    expectCode(await pending, 250, 'end of data');
    const ms = performance.now() - t0;
    await c.command('QUIT', 221).catch(() => undefined);
    return ms;
  } finally {
    c.destroy();
    for (const s of live) s.destroy();
  }
}
