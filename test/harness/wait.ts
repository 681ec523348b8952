// Bounded condition waits and loopback probes (TCP connect, SMTP 220 banner).
// Trusts: nothing beyond the loopback socket it opens; every probe has its own timeout.
// Fails: waitUntil rejects with "timeout after N ms waiting for <what>" plus the last probe error,
// or at once with the child's output when a watched process has exited.
import { connect } from 'node:net';
import type { ManagedProcess } from './process.js';

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Names the condition in the timeout error. */
  readonly what: string;
  /** Poll interval; default 20 ms. */
  readonly intervalMs?: number;
  /** Give up at once if this process exits (it will never become ready). */
  readonly process?: ManagedProcess;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns something other than undefined/false, and resolves with that.
 * A probe that throws counts as "not yet"; its last error is reported on timeout.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions,
): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (opts.process !== undefined && !opts.process.running) {
      throw new Error(`waiting for ${opts.what}: ${opts.process.describeExit()}`);
    }
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err: unknown) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const out = opts.process !== undefined ? `\n${opts.process.tail()}` : '';
      throw new Error(`timeout after ${opts.timeoutMs} ms waiting for ${opts.what}${why}${out}`);
    }
    await sleep(opts.intervalMs ?? 20);
  }
}

/** True when a TCP connect to host:port succeeds within timeoutMs. */
export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

/**
 * Connects, reads the greeting, sends QUIT. Resolves with the full first reply line when it is a
 * 220, else undefined (refused, timeout, other code). Handles multi-line 220- greetings.
 */
export function smtpBanner(port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let buf = '';
    let settled = false;
    const finish = (v: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (v !== undefined) sock.end('QUIT\r\n');
      // do not wait for the server's 221: destroy after the QUIT is flushed
      setImmediate(() => sock.destroy());
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (/^220-/.test(line)) continue;
        finish(/^220( |$)/.test(line) ? line : undefined);
        return;
      }
    });
    sock.once('error', () => finish(undefined));
    sock.once('close', () => finish(undefined));
  });
}

/** Waits until host:port greets with 220. */
export function waitForSmtpBanner(
  port: number,
  opts: Omit<WaitOptions, 'what'> & { readonly what?: string; readonly host?: string },
): Promise<string> {
  const host = opts.host ?? '127.0.0.1';
  return waitUntil(() => smtpBanner(port, host, Math.min(2000, opts.timeoutMs)), {
    ...opts,
    what: opts.what ?? `an SMTP 220 banner on ${host}:${port}`,
  });
}
