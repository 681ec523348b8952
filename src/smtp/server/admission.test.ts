import { describe, expect, it } from 'vitest';
import { AdmissionTable, LocalGate, type AdmissionLimits } from './admission.js';

const base: AdmissionLimits = { maxConnections: 100, maxConnectionsPerIp: 100, maxConnectionsPerNet: 100, connectionRate: null };

describe('admission table', () => {
  it('refuses past the total, naming the limit, and admits again after a release', () => {
    const t = new AdmissionTable(() => ({ ...base, maxConnections: 2 }));
    expect(t.admit('a', '192.0.2.1')).toBeNull();
    expect(t.admit('b', '198.51.100.1')).toBeNull();
    expect(t.admit('c', '203.0.113.1')).toBe('total');
    t.release('a');
    expect(t.admit('d', '203.0.113.1')).toBeNull();
    expect(t.size).toBe(2);
  });

  it('counts per IP and per /24 network', () => {
    const t = new AdmissionTable(() => ({ ...base, maxConnectionsPerIp: 2, maxConnectionsPerNet: 3 }));
    expect(t.admit('1', '192.0.2.1')).toBeNull();
    expect(t.admit('2', '192.0.2.1')).toBeNull();
    expect(t.admit('3', '192.0.2.1')).toBe('per-ip');
    expect(t.admit('4', '192.0.2.2')).toBeNull();
    expect(t.admit('5', '192.0.2.3')).toBe('per-net');
    expect(t.admit('6', '192.0.3.3')).toBeNull(); // another /24
    t.release('1');
    expect(t.admit('7', '192.0.2.3')).toBeNull();
  });

  it('counts IPv6 clients per /64', () => {
    const t = new AdmissionTable(() => ({ ...base, maxConnectionsPerNet: 2 }));
    expect(t.admit('1', '2001:db8:0:1::1')).toBeNull();
    expect(t.admit('2', '2001:db8:0:1:ffff::2')).toBeNull();
    expect(t.admit('3', '2001:db8:0:1::3')).toBe('per-net');
    expect(t.admit('4', '2001:db8:0:2::3')).toBeNull();
  });

  it('limits new connections per IP in a fixed window from the first one, refused attempts included', () => {
    let now = 1_000_000;
    const t = new AdmissionTable(() => ({ ...base, connectionRate: { count: 2, perMs: 60_000 } }), () => now);
    expect(t.admit('1', '192.0.2.1')).toBeNull();
    t.release('1');
    now += 1000;
    expect(t.admit('2', '192.0.2.1')).toBeNull();
    t.release('2');
    expect(t.admit('3', '192.0.2.1')).toBe('rate');
    expect(t.admit('4', '192.0.2.9')).toBeNull(); // another client has its own window
    now = 1_000_000 + 59_999;
    expect(t.admit('5', '192.0.2.1')).toBe('rate');
    now = 1_000_000 + 60_000;
    expect(t.admit('6', '192.0.2.1')).toBeNull();
  });

  it('keeps at most the bounded number of rate windows, forgetting the oldest first', () => {
    let now = 0;
    const t = new AdmissionTable(() => ({ ...base, maxConnections: 1_000_000, maxConnectionsPerNet: 1_000_000, connectionRate: { count: 1, perMs: 60_000 } }), () => now, 3);
    for (const ip of ['10.0.0.1', '10.0.1.1', '10.0.2.1']) {
      expect(t.admit(ip, ip)).toBeNull();
      now++;
    }
    expect(t.admit('x', '10.0.0.1')).toBe('rate'); // still tracked
    expect(t.admit('10.0.3.1', '10.0.3.1')).toBeNull(); // a 4th client: the oldest window (10.0.0.1) is dropped
    expect(t.admit('y', '10.0.0.1')).toBeNull();
  });

  it('releases every slot of a worker that died', () => {
    const t = new AdmissionTable(() => ({ ...base, maxConnectionsPerIp: 2 }));
    t.admit('1:1', '192.0.2.1');
    t.admit('1:2', '192.0.2.1');
    t.admit('2:1', '192.0.2.2');
    expect(t.admit('2:2', '192.0.2.1')).toBe('per-ip');
    expect(t.releaseAll('1:')).toBe(2);
    expect(t.size).toBe(1);
    expect(t.admit('2:3', '192.0.2.1')).toBeNull();
  });

  it('a local gate hands out slots and takes them back', async () => {
    const g = new LocalGate(() => ({ ...base, maxConnections: 1 }));
    const a = await g.admit('192.0.2.1');
    expect(a.ok).toBe(true);
    expect(await g.admit('192.0.2.2')).toEqual({ ok: false, limit: 'total' });
    if (a.ok) g.release(a.slot);
    expect((await g.admit('192.0.2.2')).ok).toBe(true);
  });
});
