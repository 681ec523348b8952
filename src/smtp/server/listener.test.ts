/**
 * The listener's edge with real sockets from distinct loopback addresses (all of 127.0.0.0/8 is
 * local): connection limits per IP, per /24, in total and per rate, refused with 421 4.7.0 before
 * any session; and PROXY protocol v1/v2 headers sent by a scripted proxy (a real HAProxy is in
 * test/e2e/proxy-protocol.test.ts; only a script can send malformed headers and arbitrary
 * addresses), which must be trusted, complete and exact, and whose client address is the one
 * counted and handed to the session.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEngine, type Engine } from '../../../test/support/engine.js';
import { SmtpTalk } from '../../../test/support/smtp-talk.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2Tcp6(src: string, dst: string, sport: number, dport: number): Buffer {
  const hex = (a: string): Buffer => Buffer.from(a.replace(/:/g, ''), 'hex');
  const body = Buffer.alloc(36);
  hex(src).copy(body, 0);
  hex(dst).copy(body, 16);
  body.writeUInt16BE(sport, 32);
  body.writeUInt16BE(dport, 34);
  return Buffer.concat([SIG, Buffer.from([0x21, 0x21, 0, 36]), body]);
}
const V2_LOCAL = Buffer.concat([SIG, Buffer.from([0x20, 0x00, 0, 0])]);

/** Opens a connection from `from` and returns the first reply (null: closed without a word). */
async function firstReply(port: number, from: string, preface?: Buffer | string): Promise<{ talk: SmtpTalk; line: string | null }> {
  const talk = await SmtpTalk.open(port, '127.0.0.1', from);
  if (preface) talk.send(preface);
  return { talk, line: await talk.nextLine(10_000) };
}

describe('connection limits', () => {
  it('refuses a second connection from one IP with 421 4.7.0, and admits another IP', async () => {
    engine = await startEngine({ admission: { maxConnectionsPerIp: 1 } });
    const a = await firstReply(engine.port, '127.0.0.10');
    expect(a.line).toBe('220 mx.engine.test ESMTP');
    const b = await firstReply(engine.port, '127.0.0.10');
    expect(b.line).toBe('421 4.7.0 Too many connections from your address, try again later');
    expect(await b.talk.closedByServer()).toBe(true);
    expect((await firstReply(engine.port, '127.0.0.11')).line).toBe('220 mx.engine.test ESMTP');
    a.talk.close();
    // The slot comes back once the session is over.
    const e = engine;
    await expect.poll(async () => (await firstReply(e.port, '127.0.0.10')).line, { timeout: 10_000 }).toBe('220 mx.engine.test ESMTP');
    expect(engine.limits[0]).toEqual({ client: '127.0.0.10', limit: 'per-ip', reply: '421 4.7.0 Too many connections from your address, try again later' });
    expect(engine.sessions.length).toBeGreaterThanOrEqual(3); // the refused one never got a session
  });

  it('counts a /24 together', async () => {
    engine = await startEngine({ admission: { maxConnectionsPerNet: 2 } });
    expect((await firstReply(engine.port, '127.0.0.20')).line).toMatch(/^220 /);
    expect((await firstReply(engine.port, '127.0.0.21')).line).toMatch(/^220 /);
    expect((await firstReply(engine.port, '127.0.0.22')).line).toBe('421 4.7.0 Too many connections from your network, try again later');
    expect((await firstReply(engine.port, '127.0.1.22')).line).toMatch(/^220 /);
    expect(engine.limits.map((l) => l.limit)).toEqual(['per-net']);
  });

  it('refuses past the total and past the connection rate', async () => {
    engine = await startEngine({ admission: { maxConnections: 1 } });
    const first = await firstReply(engine.port, '127.0.0.30');
    expect((await firstReply(engine.port, '127.0.0.31')).line).toBe('421 4.7.0 Too many connections, try again later');
    first.talk.close();
    await engine.stop();
    engine = await startEngine({ admission: { connectionRate: { count: 2, perMs: 60_000 } } });
    for (let i = 0; i < 2; i++) {
      const r = await firstReply(engine.port, '127.0.0.32');
      expect(r.line).toMatch(/^220 /);
      r.talk.close();
    }
    expect((await firstReply(engine.port, '127.0.0.32')).line).toBe('421 4.7.0 Too many connection attempts from your address, try again later');
    expect((await firstReply(engine.port, '127.0.0.33')).line).toMatch(/^220 /);
    expect(engine.limits.map((l) => l.limit)).toEqual(['rate']);
  });
});

describe('PROXY protocol', () => {
  it('takes the client address of a v1 header from a trusted proxy, and reads on after it', async () => {
    engine = await startEngine({ proxy: { trusted: ['127.0.0.1/32'] } });
    const r = await firstReply(engine.port, '127.0.0.1', 'PROXY TCP4 203.0.113.9 198.51.100.25 40001 25\r\nEHLO c.example\r\n');
    expect(r.line).toBe('220 mx.engine.test ESMTP');
    expect((await r.talk.reply())?.lines[0]).toBe('250-mx.engine.test');
    expect(engine.sessions[0]).toMatchObject({ remoteAddress: '203.0.113.9', remotePort: 40001, localAddress: '198.51.100.25', localPort: 25 });
    expect(engine.sessions[0]?.proxiedBy).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('counts an IPv4-mapped v2 source as its IPv4 address, and a LOCAL health check as the proxy itself', async () => {
    engine = await startEngine({ proxy: { trusted: ['127.0.0.0/8'] } });
    const mapped = await firstReply(engine.port, '127.0.0.5', v2Tcp6('0000:0000:0000:0000:0000:ffff:c000:0207', '2001:0db8:0000:0000:0000:0000:0000:0001', 5000, 25));
    expect(mapped.line).toMatch(/^220 /);
    const local = await firstReply(engine.port, '127.0.0.6', V2_LOCAL);
    expect(local.line).toMatch(/^220 /);
    expect(engine.sessions.map((s) => s.remoteAddress)).toEqual(['192.0.2.7', '127.0.0.6']);
    expect(engine.sessions[1]?.proxiedBy).toBeUndefined();
  });

  it('applies the limits to the client the proxy reports (per IP, and IPv6 per /64)', async () => {
    engine = await startEngine({ proxy: { trusted: ['127.0.0.1'] }, admission: { maxConnectionsPerIp: 1, maxConnectionsPerNet: 2 } });
    const line = async (header: Buffer | string): Promise<string | null> => (await firstReply(engine?.port ?? 0, '127.0.0.1', header)).line;
    expect(await line('PROXY TCP4 198.51.100.5 192.0.2.1 1000 25\r\n')).toMatch(/^220 /);
    expect(await line('PROXY TCP4 198.51.100.5 192.0.2.1 1001 25\r\n')).toBe('421 4.7.0 Too many connections from your address, try again later');
    expect(await line(v2Tcp6('2001:0db8:0000:0001:0000:0000:0000:0001', '2001:0db8:0000:0000:0000:0000:0000:0019', 1, 25))).toMatch(/^220 /);
    expect(await line(v2Tcp6('2001:0db8:0000:0001:ffff:0000:0000:0002', '2001:0db8:0000:0000:0000:0000:0000:0019', 2, 25))).toMatch(/^220 /);
    expect(await line(v2Tcp6('2001:0db8:0000:0001:0000:0000:0000:0003', '2001:0db8:0000:0000:0000:0000:0000:0019', 3, 25))).toBe('421 4.7.0 Too many connections from your network, try again later');
    expect(engine.limits.map((l) => [l.client, l.limit])).toEqual([['198.51.100.5', 'per-ip'], ['2001:db8:0:1::3', 'per-net']]);
  });

  it('closes without a word a peer that is not a trusted proxy, a malformed header, and a missing one', async () => {
    engine = await startEngine({ proxy: { trusted: ['127.0.0.1/32'], timeoutMs: 300 } });
    const untrusted = await firstReply(engine.port, '127.0.0.20', 'PROXY TCP4 203.0.113.9 198.51.100.25 40001 25\r\n');
    expect(untrusted.line).toBeNull();
    const malformed = await firstReply(engine.port, '127.0.0.1', 'EHLO straight.example\r\n');
    expect(malformed.line).toBeNull();
    const bareLf = await firstReply(engine.port, '127.0.0.1', 'PROXY TCP4 203.0.113.9 198.51.100.25 40001 25\n');
    expect(bareLf.line).toBeNull();
    const missing = await firstReply(engine.port, '127.0.0.1');
    expect(missing.line).toBeNull();
    expect(engine.refused).toEqual([
      { peer: '127.0.0.20', reason: 'untrusted-proxy' },
      { peer: '127.0.0.1', reason: 'proxy-header-malformed' },
      { peer: '127.0.0.1', reason: 'proxy-header-malformed' },
      { peer: '127.0.0.1', reason: 'proxy-header-timeout' },
    ]);
    expect(engine.sessions).toEqual([]);
  });

  it('holds at most a bounded header: a peer sending 100 kB of "PROXY" gets closed at the deadline', async () => {
    engine = await startEngine({ proxy: { trusted: ['127.0.0.1/32'], timeoutMs: 500 } });
    const s = connect({ port: engine.port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.write(`PROXY ${'x'.repeat(100_000)}`);
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    expect(engine.refused.map((r) => r.reason)).toEqual(['proxy-header-timeout']);
  });
});
