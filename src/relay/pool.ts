/**
 * Connections to downstream servers, pooled per destination (host, port, TLS policy): at most N open
 * per destination (the rest wait their turn), idle ones kept a few seconds for the next message and
 * then closed with QUIT. Reuse follows RFC 5321 §4.1.1.5: the client RSETs after a transaction.
 */
import type { SmtpConnection } from '../smtp/client/index.js';
import { daneKey } from './dane.js';
import type { Hop, TlsChoice } from './routes.js';

export interface PoolOptions {
  readonly maxPerDestination: () => number;
  readonly idleMs: () => number;
  readonly connect: (hop: Hop, tls: TlsChoice, signal: AbortSignal) => Promise<SmtpConnection>;
}

export interface Lease {
  readonly connection: SmtpConnection;
  /** True when the connection served an earlier transaction (a failure on it may just be staleness). */
  readonly reused: boolean;
  release(): void;
}

interface Destination {
  open: number;
  idle: { conn: SmtpConnection; timer: NodeJS.Timeout }[];
  waiters: (() => void)[];
}

export class ConnectionPool {
  private readonly destinations = new Map<string, Destination>();
  private closing = false;

  constructor(private readonly options: PoolOptions) {}

  async acquire(hop: Hop, tls: TlsChoice, signal: AbortSignal): Promise<Lease> {
    const key = `${hop.host}|${hop.port}|${tls.policy}|${tls.verify}|${tls.servername ?? ''}|${daneKey(tls.dane)}`;
    const d = this.destination(key);
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const idle = d.idle.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (idle.conn.usable) return this.lease(key, d, idle.conn, true);
        d.open--;
        idle.conn.close();
        continue;
      }
      if (d.open < this.options.maxPerDestination()) {
        d.open++;
        try {
          const conn = await this.options.connect(hop, tls, signal);
          return this.lease(key, d, conn, false);
        } catch (e) {
          d.open--;
          this.wakeOne(d);
          throw e;
        }
      }
      await new Promise<void>((resolve) => d.waiters.push(resolve));
    }
  }

  /** Quits every idle connection; busy ones are closed on release. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const quits: Promise<void>[] = [];
    for (const d of this.destinations.values()) {
      for (const { conn, timer } of d.idle.splice(0)) {
        clearTimeout(timer);
        d.open--;
        quits.push(conn.quit(AbortSignal.timeout(2000)));
      }
      for (const w of d.waiters.splice(0)) w();
    }
    await Promise.all(quits);
  }

  private destination(key: string): Destination {
    let d = this.destinations.get(key);
    if (!d) {
      d = { open: 0, idle: [], waiters: [] };
      this.destinations.set(key, d);
    }
    return d;
  }

  private lease(key: string, d: Destination, conn: SmtpConnection, reused: boolean): Lease {
    let released = false;
    return {
      connection: conn,
      reused,
      release: () => {
        if (released) return;
        released = true;
        if (conn.usable && !this.closing) {
          const timer = setTimeout(() => {
            const i = d.idle.findIndex((x) => x.conn === conn);
            if (i >= 0) {
              d.idle.splice(i, 1);
              d.open--;
              void conn.quit(AbortSignal.timeout(5000));
              if (d.open === 0 && d.idle.length === 0 && d.waiters.length === 0) this.destinations.delete(key);
            }
          }, this.options.idleMs());
          timer.unref();
          d.idle.push({ conn, timer });
        } else {
          d.open--;
          conn.close();
        }
        this.wakeOne(d);
      },
    };
  }

  private wakeOne(d: Destination): void {
    d.waiters.shift()?.();
  }
}
