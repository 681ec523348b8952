/** The scanner probe's bookkeeping: last state per scanner, one log line per change of state. */
import { describe, expect, it } from 'vitest';
import type { LogEvent, LogFields, Logger } from '../platform/logger.js';
import { startScannerHealth, type ScannerProbe } from './scanner-health.js';

function recorder(): Logger & { lines: { level: string; event: LogEvent; fields: LogFields }[] } {
  const lines: { level: string; event: LogEvent; fields: LogFields }[] = [];
  const at = (level: string) => (event: LogEvent, fields: LogFields = {}) => void lines.push({ level, event, fields });
  const l = { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => l };
  return l;
}

describe('scanner health', () => {
  it('keeps the last result per scanner and logs scanner.down / scanner.up once per change', async () => {
    let clamdUp = true;
    const probes: ScannerProbe[] = [
      { name: 'clamd', target: '127.0.0.1:3310', ping: async () => { if (!clamdUp) throw new Error('127.0.0.1:3310: ECONNREFUSED'); } },
      { name: 'spamd', target: '127.0.0.1:783', ping: async () => undefined },
    ];
    const log = recorder();
    const h = startScannerHealth(probes, 0, log);
    expect(h.states().map((s) => s.up)).toEqual([null, null]);
    await h.probe();
    expect(h.states()).toMatchObject([{ name: 'clamd', up: true, error: null }, { name: 'spamd', up: true }]);
    expect(log.lines).toEqual([]);
    clamdUp = false;
    await h.probe();
    await h.probe();
    expect(h.states()[0]).toMatchObject({ up: false, latencyMs: null, error: '127.0.0.1:3310: ECONNREFUSED' });
    expect(log.lines).toEqual([{ level: 'warn', event: 'scanner.down', fields: { scanner: 'clamd', target: '127.0.0.1:3310', error: '127.0.0.1:3310: ECONNREFUSED' } }]);
    clamdUp = true;
    await h.probe();
    expect(log.lines.map((l) => l.event)).toEqual(['scanner.down', 'scanner.up']);
    h.stop();
  });

  it('probes once at a time: a second call while one runs waits for the same round', async () => {
    let calls = 0;
    let release = (): void => undefined;
    const h = startScannerHealth([{ name: 'rspamd', target: 'http://127.0.0.1:11333/', ping: () => { calls++; return new Promise<void>((r) => (release = r)); } }], 0, recorder());
    const a = h.probe();
    const b = h.probe();
    release();
    await Promise.all([a, b]);
    expect(calls).toBe(1);
    h.stop();
  });
});
