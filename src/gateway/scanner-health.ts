/**
 * The supervisor's active probe of the external scanners (clamd, spamd, Rspamd): every
 * `admin.scannerProbeInterval` each configured scanner gets its protocol's no-op (clamd PING,
 * SPAMC PING, Rspamd GET /ping) within that scanner's own timeout. The last result per scanner is
 * what /healthz (detail.scanners), the console's dashboard and the `moat_scanner_up` gauge show, so
 * an idle node tells that its clamd is gone before the first message is deferred for it.
 * A change of state is logged once (`scanner.down` warn, `scanner.up` info), not every probe.
 * One probe round at a time; a scanner that hangs costs at most its timeout. Never throws.
 */
import type { Logger } from '../platform/logger.js';

export interface ScannerProbe {
  /** "clamd", "spamd" or "rspamd". */
  readonly name: string;
  /** Where it is, for the operator (an address or URL; no credentials). */
  readonly target: string;
  ping(signal: AbortSignal): Promise<void>;
}

export interface ScannerState {
  readonly name: string;
  readonly target: string;
  /** null before the first probe answered or failed. */
  readonly up: boolean | null;
  readonly latencyMs: number | null;
  readonly checkedAt: number | null;
  readonly error: string | null;
}

export interface ScannerHealth {
  states(): readonly ScannerState[];
  /** Probes every scanner now and resolves when all have answered or failed. */
  probe(): Promise<void>;
  stop(): void;
}

export function startScannerHealth(probes: readonly ScannerProbe[], intervalMs: number, logger: Logger, now: () => number = Date.now): ScannerHealth {
  const state = new Map<string, ScannerState>(probes.map((p) => [p.name, { name: p.name, target: p.target, up: null, latencyMs: null, checkedAt: null, error: null }]));
  let running: Promise<void> | null = null;
  let stopped = false;

  const one = async (p: ScannerProbe): Promise<void> => {
    const started = now();
    const before = state.get(p.name);
    let next: ScannerState;
    try {
      await p.ping(new AbortController().signal);
      next = { name: p.name, target: p.target, up: true, latencyMs: now() - started, checkedAt: now(), error: null };
    } catch (e) {
      next = { name: p.name, target: p.target, up: false, latencyMs: null, checkedAt: now(), error: e instanceof Error ? e.message : String(e) };
    }
    state.set(p.name, next);
    if (next.up === false && before?.up !== false) logger.warn('scanner.down', { scanner: p.name, target: p.target, error: next.error });
    if (next.up === true && before?.up === false) logger.info('scanner.up', { scanner: p.name, target: p.target, latencyMs: next.latencyMs });
  };
  const probe = (): Promise<void> => {
    running ??= Promise.all(probes.map(one)).then(() => {
      running = null;
    });
    return running;
  };
  const timer = probes.length > 0 && intervalMs > 0 ? setInterval(() => !stopped && void probe(), intervalMs) : null;
  timer?.unref();
  if (timer) void probe();
  return {
    states: () => [...state.values()],
    probe,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
