import { describe, expect, it } from 'vitest';
import { validateConfig } from './load.js';

const base = {
  hostname: 'mx.example.test',
  listen: [{ address: '127.0.0.1:2525' }],
  domains: { 'example.test': { relay: ['127.0.0.1:2526'] } },
  dataDir: '/tmp/moat-config-test',
};

describe('edge config: listen[] and limits', () => {
  it('has defaults for every new limit, and leaves the rates and idle deadline unset', () => {
    const r = validateConfig(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen[0]).toMatchObject({ proxyProtocol: false, proxyTimeout: 5000 });
    expect(r.config.limits).toMatchObject({ maxConnectionsPerNet: 100, tarpit: { afterErrors: 2, delay: 1000, maxDelay: 10_000 } });
    expect(r.config.limits.connectionRate).toBeUndefined();
    expect(r.config.limits.commandRate).toBeUndefined();
    expect(r.config.limits.idleTimeout).toBeUndefined();
  });

  it('requires trustedProxies with proxyProtocol, and valid CIDRs', () => {
    const noList = validateConfig({ ...base, listen: [{ address: '127.0.0.1:2525', proxyProtocol: true }] });
    expect(noList.ok ? [] : noList.errors).toEqual([{ path: 'listen[0].trustedProxies', message: 'required when proxyProtocol is true' }]);
    const bad = validateConfig({ ...base, listen: [{ address: '127.0.0.1:2525', proxyProtocol: true, trustedProxies: ['10.0.0.0/33'] }] });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(['listen[0].trustedProxies[0]']);
    const good = validateConfig({ ...base, listen: [{ address: '127.0.0.1:2525', proxyProtocol: true, trustedProxies: ['10.0.0.0/8', '::1', '2001:db8::/32'] }] });
    expect(good.ok).toBe(true);
  });

  it('parses the rates and refuses an idle deadline longer than the command deadline', () => {
    const r = validateConfig({ ...base, limits: { connectionRate: { count: 30, per: '1m' }, commandRate: { count: 500, per: 60 }, idleTimeout: '1m' } });
    expect(r.ok && r.config.limits).toMatchObject({ connectionRate: { count: 30, per: 60_000 }, commandRate: { count: 500, per: 60_000 }, idleTimeout: 60_000 });
    const long = validateConfig({ ...base, limits: { idleTimeout: '10m', commandTimeout: '5m' } });
    expect(long.ok ? [] : long.errors).toEqual([{ path: 'limits.idleTimeout', message: 'must not be longer than commandTimeout' }]);
    const zero = validateConfig({ ...base, limits: { connectionRate: { count: 1, per: 0 } } });
    expect(zero.ok ? [] : zero.errors.map((e) => e.path)).toEqual(['limits.connectionRate.per']);
  });
});
