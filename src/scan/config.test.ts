import { describe, expect, it } from 'vitest';
import { createChecks, INERT, type CheckPorts } from '../checks/index.js';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { parseSocketAddress } from './options.js';

const base = {
  hostname: 'mx.example.test',
  listen: [{ address: '127.0.0.1:2525' }],
  domains: { 'example.test': { relay: ['127.0.0.1:2526'] } },
  dataDir: '/tmp/moat-config-test',
};

function config(extra: Record<string, unknown>): Config {
  const r = validateConfig({ ...base, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Ports that record which scanner adapters were made, and refuse everything else. */
function ports(made: string[]): CheckPorts {
  const refuse = (): Promise<never> => Promise.reject(new Error('not in this test'));
  return {
    ...INERT,
    scanners: {
      clamd: (c) => (made.push(`clamd ${c.address}`), { scan: refuse }),
      spamd: (c) => (made.push(`spamd ${c.address}`), { check: refuse }),
      rspamd: (c) => (made.push(`rspamd ${c.url}`), { check: refuse }),
    },
  };
}

const SCANNERS = new Set(['clamav', 'rspamd', 'spamd']);
/** The scanner checks createChecks builds, in their order. */
const names = (c: Config, made: string[] = []): string[] =>
  createChecks(c.checks, c.domains, ports(made), false, c)
    .map((e) => e.check.name)
    .filter((n) => SCANNERS.has(n));

describe('scanner config', () => {
  it('uses no scanner unless its top-level slice is present', () => {
    const made: string[] = [];
    expect(names(config({}), made)).toEqual([]);
    expect(made).toEqual([]);
  });

  it('runs the configured scanners antivirus first, with their adapters made from the slices', () => {
    const made: string[] = [];
    const c = config({ spamassassin: { address: '/run/spamd.sock' }, clamav: { address: '127.0.0.1:3310' }, rspamd: { url: 'http://127.0.0.1:11333' } });
    expect(names(c, made)).toEqual(['clamav', 'rspamd', 'spamd']);
    expect(made).toEqual(['clamd 127.0.0.1:3310', 'rspamd http://127.0.0.1:11333', 'spamd /run/spamd.sock']);
    expect(c.clamav).toMatchObject({ timeout: 20_000, maxSize: 25 * 1024 * 1024, maxConcurrent: 4, nameInReply: true });
    expect(c.spamassassin).toMatchObject({ timeout: 15_000, maxSize: 512_000, maxConcurrent: 4 });
    expect(c.rspamd).toMatchObject({ timeout: 15_000, honourActions: false, maxConcurrent: 16 });
  });

  it('takes the scanner defaults from an empty slice, and checks.<name>.enabled: false turns one off', () => {
    const c = config({ clamav: {}, checks: { clamav: { enabled: false } }, spamassassin: {} });
    const made: string[] = [];
    expect(names(c, made)).toEqual(['spamd']);
    expect(made).toEqual(['spamd 127.0.0.1:783']);
  });

  it('names the path of a bad address, URL, size or user', () => {
    const r = validateConfig({
      ...base,
      clamav: { address: 'localhost:3310', maxSize: 10 },
      spamassassin: { address: 'relative/path.sock', user: 'bad user' },
      rspamd: { url: 'ftp://127.0.0.1/', bogus: true },
    });
    expect(r.ok ? [] : r.errors.map((e) => e.path).sort()).toEqual(['clamav.address', 'clamav.maxSize', 'rspamd', 'rspamd.url', 'spamassassin.address', 'spamassassin.user']);
  });

  it('knows the scanners symbols for policy overrides before a scanner is configured', () => {
    const r = validateConfig({ ...base, policy: { symbols: { VIRUS_FOUND: { action: 'quarantine' }, SPAMD_SCORE: { score: 0.5 }, RSPAMD_ACTION_REJECT: { action: 'reject' }, CLAMAV_TEMPFAIL: { action: 'accept' } } } });
    expect(r.ok).toBe(true);
    const bad = validateConfig({ ...base, policy: { symbols: { CLAMAV_NOPE: { score: 1 } } } });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(['policy.symbols.CLAMAV_NOPE']);
  });

  it('parses scanner addresses: IPv4, [IPv6], absolute unix paths', () => {
    expect(parseSocketAddress('127.0.0.1:3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseSocketAddress('[::1]:783')).toEqual({ host: '::1', port: 783 });
    expect(parseSocketAddress('/run/clamav/clamd.ctl')).toEqual({ path: '/run/clamav/clamd.ctl' });
    expect(parseSocketAddress('clamd:3310')).toBeNull();
  });
});
