/** The outbound slice and the listener keys it needs, validated through the one config schema. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { transportFor } from './transports.js';

const base = {
  hostname: 'mx.example.test',
  listen: [{ address: '127.0.0.1:2525' }],
  domains: { 'example.test': { relay: ['127.0.0.1:2526'] } },
  dataDir: '/tmp/moat-config-test',
};

describe('outbound config', () => {
  it('defaults to no relaying, port 25, MTA-STS on, hidden LAN trace, correspondents kept 180 days', () => {
    const r = validateConfig(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.outbound).toMatchObject({ trustedNetworks: [], smtpPort: 25, hideInternalReceived: true, transports: {}, dkim: {}, mtaSts: { enabled: true, httpsPort: 443 } });
    expect(r.config.outbound.rememberRecipients).toBe(180 * 86_400_000);
    expect(r.config.listen[0]).toMatchObject({ submission: false, implicitTls: false });
  });

  it('needs a certificate on submission and implicit-TLS listeners, and names the paths of bad keys', () => {
    const r = validateConfig({
      ...base,
      listen: [{ address: '127.0.0.1:587', submission: true }, { address: '127.0.0.1:465', implicitTls: true }],
      outbound: { trustedNetworks: ['10.0.0.0/33'], auth: { ldap: { url: 'ldap://dc1.example.test', userDn: 'uid=x' } }, dkim: { 'example.test': { selector: 'bad selector', keyFile: '/k' } } },
    });
    expect(r.ok ? [] : r.errors.map((e) => e.path).sort()).toEqual([
      'listen[0].tls',
      'listen[1].tls',
      'outbound.auth.ldap.url',
      'outbound.auth.ldap.userDn',
      'outbound.dkim.example.test.selector',
      'outbound.trustedNetworks[0]',
    ]);
  });

  it('turns transports into routes: the domain\'s own entry, else "*", else MX delivery', () => {
    const r = validateConfig({ ...base, outbound: { transports: { 'partner.test': '10.0.0.9:25', '*': { relay: ['10.0.0.8:587'], tls: { policy: 'required', verify: true } } } } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.config.outbound.transports;
    expect(transportFor(t, 'partner.test')).toEqual({ relay: ['10.0.0.9:25'], tls: { policy: 'opportunistic', verify: false } });
    expect(transportFor(t, 'other.test')).toMatchObject({ relay: ['10.0.0.8:587'], tls: { policy: 'required', verify: true } });
    expect(transportFor({}, 'other.test')).toBeNull();
  });
});
