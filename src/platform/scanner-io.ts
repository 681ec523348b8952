/**
 * What the external scanners' adapters (clamd, spamd, rspamd) share: a typed error, a bound on
 * concurrent scans, one deadline per scan, and a request/answer exchange over a TCP or unix stream
 * socket (write the request, read the answer until the peer closes), as clamd's INSTREAM and spamd's
 * SPAMC protocol both work.
 * Trusts: nothing the peer sends beyond `maxAnswer` octets; the peer closes after its answer.
 * Fails: every failure is a ScannerError (transient: the scanner is down, slow or speaks nonsense),
 * so the check that uses the adapter throws and the pipeline defers (CONVENTIONS.md 6); a deadline
 * destroys the socket, and waiting for a free slot counts against the same deadline.
 */
import { connect, type Socket } from 'node:net';
import { deadline } from './deadline.js';

export type ScannerErrorCode = 'SCANNER_UNAVAILABLE' | 'SCANNER_TIMEOUT' | 'SCANNER_PROTOCOL' | 'SCANNER_REFUSED';

export class ScannerError extends Error {
  readonly transient = true;
  constructor(
    readonly code: ScannerErrorCode,
    /** "clamd", "spamd", "rspamd". */
    readonly scanner: string,
    message: string,
  ) {
    super(`${scanner}: ${message}`);
  }
}

/** A stream socket: TCP ("127.0.0.1:3310") or a unix socket path ("/run/clamav/clamd.ctl"). */
export type SocketTarget = { readonly host: string; readonly port: number } | { readonly path: string };

export function describeTarget(t: SocketTarget): string {
  return 'path' in t ? t.path : t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/** Text from a scanner made safe for a log line: printable ASCII, bounded. */
export function peerText(text: string, max = 200): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

/**
 * At most `limit` scans at once (clamd's MaxThreads, spamd's children); others wait in order.
 * A wait ends with SCANNER_TIMEOUT when the scan's deadline passes first.
 */
export class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly scanner: string,
  ) {}

  async acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) throw new ScannerError('SCANNER_TIMEOUT', this.scanner, 'deadline passed before the scan started');
    if (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const late = (): ScannerError => new ScannerError('SCANNER_TIMEOUT', this.scanner, `deadline passed waiting for one of ${this.limit} scan slots`);
        const go = (): void => {
          signal.removeEventListener('abort', abort);
          if (!signal.aborted) {
            resolve();
            return;
          }
          // Its deadline passed just as the slot came free: the slot goes on to the next waiter.
          this.handOn();
          reject(late());
        };
        const abort = (): void => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(late());
        };
        this.waiting.push(go);
        signal.addEventListener('abort', abort, { once: true });
      });
    } else {
      this.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOn();
    };
  }

  /** A slot came free: it passes straight to the next waiter (`active` stays the same), or is freed. */
  private handOn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /**
   * One scan within the caller's signal and the scanner's own `timeoutMs`, whichever ends first:
   * waiting for a slot counts against it, and `work` gets the combined signal.
   */
  async run<T>(signal: AbortSignal, timeoutMs: number, work: (deadline: AbortSignal) => Promise<T>): Promise<T> {
    const d = deadline(timeoutMs, [signal]);
    try {
      const release = await this.acquire(d.signal);
      try {
        return await work(d.signal);
      } finally {
        release();
      }
    } finally {
      d.clear();
    }
  }

  /** Scans running now (for tests and metrics). */
  get running(): number {
    return this.active;
  }
}


/** Writes to the request side; false once the peer has closed it (it answered early or hung up). */
export interface RequestWriter {
  write(data: Buffer): Promise<boolean>;
}

function connectError(scanner: string, target: SocketTarget, e: unknown): ScannerError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const where = describeTarget(target);
  if (['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'ECONNRESET', 'EPIPE', 'EADDRNOTAVAIL'].includes(code)) {
    return new ScannerError('SCANNER_UNAVAILABLE', scanner, `${where}: ${code}`);
  }
  return new ScannerError('SCANNER_PROTOCOL', scanner, `${where}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Connects, lets `send` write the request, half-closes, and returns everything the peer sent until
 * it closed. An answer that arrives while the request is still being written (clamd refusing an
 * oversized stream) ends the writing and is returned as well.
 */
export async function exchange(
  scanner: string,
  target: SocketTarget,
  send: (out: RequestWriter) => Promise<void>,
  signal: AbortSignal,
  maxAnswer = 64 * 1024,
): Promise<Buffer> {
  if (signal.aborted) throw new ScannerError('SCANNER_TIMEOUT', scanner, 'deadline passed before connecting');
  const sock: Socket = connect('path' in target ? { path: target.path } : { host: target.host, port: target.port });
  const chunks: Buffer[] = [];
  let got = 0;
  let connected = false;
  let failure: ScannerError | null = null;
  const answer = new Promise<Buffer>((resolve, reject) => {
    const fail = (e: ScannerError): void => {
      failure ??= e;
      sock.destroy();
      reject(failure);
    };
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got > maxAnswer) fail(new ScannerError('SCANNER_PROTOCOL', scanner, `answer longer than ${maxAnswer} octets`));
      else chunks.push(d);
    });
    sock.on('error', (e) => {
      // A peer that answered and then reset the connection (our request was still flowing) has answered.
      if (connected && got > 0 && !failure) resolve(Buffer.concat(chunks));
      else fail(connectError(scanner, target, e));
    });
    sock.on('close', () => {
      if (failure) reject(failure);
      else if (!connected) reject(new ScannerError('SCANNER_UNAVAILABLE', scanner, `${describeTarget(target)}: closed before connecting`));
      else resolve(Buffer.concat(chunks));
    });
  });
  // Rejections are observed through `answer` below; this keeps an early one from being unhandled.
  answer.catch(() => undefined);
  const onAbort = (): void => {
    failure ??= new ScannerError('SCANNER_TIMEOUT', scanner, `no answer from ${describeTarget(target)} within the time budget`);
    sock.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => {
        connected = true;
        resolve();
      });
      answer.catch(reject);
    });
    const writer: RequestWriter = {
      write: (data) =>
        new Promise<boolean>((resolve) => {
          if (sock.destroyed || !sock.writable || got > 0) {
            resolve(false);
            return;
          }
          if (sock.write(data)) {
            resolve(true);
            return;
          }
          const done = (ok: boolean) => (): void => {
            sock.off('drain', onDrain);
            sock.off('close', onClose);
            resolve(ok && got === 0);
          };
          const onDrain = done(true);
          const onClose = done(false);
          sock.once('drain', onDrain);
          sock.once('close', onClose);
        }),
    };
    await send(writer);
    if (!sock.destroyed && sock.writable) sock.end();
    return await answer;
  } catch (e) {
    if (failure) throw failure;
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
    sock.destroy();
  }
}
