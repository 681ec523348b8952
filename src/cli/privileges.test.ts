import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { privilegePlan, StartupError } from './privileges.js';

function config(extra: Record<string, unknown>): Config {
  const r = validateConfig({ hostname: 'mx.moat.test', listen: [{ address: '127.0.0.1:25' }], domains: { 'example.test': { relay: ['127.0.0.1:2526'] } }, dataDir: '/var/lib/moat', ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('privilege plan', () => {
  const me = () => 'moat';

  it('drops to the configured user when started as root', () => {
    expect(privilegePlan(config({ user: 'moat', group: 'mail' }), 0, me)).toEqual({ kind: 'drop', user: 'moat', group: 'mail' });
  });

  it('refuses root without user, unless allowRoot says so', () => {
    expect(() => privilegePlan(config({}), 0, me)).toThrow(StartupError);
    expect(() => privilegePlan(config({}), 0, me)).toThrow(/refusing to run as root/);
    expect(privilegePlan(config({ allowRoot: true }), 0, me)).toEqual({ kind: 'root' });
    // user wins over allowRoot: root is dropped whenever it can be.
    expect(privilegePlan(config({ user: 'moat', allowRoot: true }), 0, me).kind).toBe('drop');
  });

  it('runs as it is when not root, and says so when that is not the configured user', () => {
    expect(privilegePlan(config({ user: 'moat' }), 998, me)).toEqual({ kind: 'as-is', mismatch: null });
    expect(privilegePlan(config({}), 998, me)).toEqual({ kind: 'as-is', mismatch: null });
    expect(privilegePlan(config({ user: 'other' }), 998, me)).toEqual({ kind: 'as-is', mismatch: 'configured user other, but started as moat (not root, so no switch)' });
  });
});
