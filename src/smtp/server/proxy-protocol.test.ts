import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Input } from './input.js';
import { parseV1, parseV2, readProxyHeader, type ProxyHeader } from './proxy-protocol.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2(verCmd: number, fam: number, addr: Buffer, tlv: Buffer = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(addr.length + tlv.length);
  return Buffer.concat([SIG, Buffer.from([verCmd, fam]), len, addr, tlv]);
}

function v4Block(src: number[], dst: number[], sp: number, dp: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sp, 8);
  b.writeUInt16BE(dp, 10);
  return b;
}

/** Feeds `parts` one by one (as separate segments) and reads the header; returns it and what is left. */
async function read(parts: Buffer[], timeoutMs = 2000): Promise<{ header: ProxyHeader; rest: string }> {
  const stream = new PassThrough();
  const input = new Input(65536);
  input.attach(stream);
  const done = readProxyHeader(input, AbortSignal.timeout(timeoutMs));
  for (const p of parts) {
    stream.write(p);
    await new Promise((r) => setImmediate(r));
  }
  const header = await done;
  const rest = input.pending > 0 ? ((await input.readSome(1 << 20, AbortSignal.timeout(100))) ?? Buffer.alloc(0)).toString('latin1') : '';
  return { header, rest };
}

describe('PROXY protocol v1', () => {
  it('reads TCP4 and TCP6 lines, leaving what follows for the session', async () => {
    expect(await read([Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n')])).toEqual({
      header: { kind: 'proxied', version: 1, source: { address: '192.0.2.7', port: 56324 }, destination: { address: '198.51.100.1', port: 25 } },
      rest: 'EHLO x\r\n',
    });
    const six = parseV1('PROXY TCP6 2001:db8::7 2001:db8::1 4000 25');
    expect(six).toMatchObject({ kind: 'proxied', source: { address: '2001:db8::7', port: 4000 } });
  });

  it('takes a header split across segments', async () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 1 25\r\n');
    const { header } = await read([...line].map((b) => Buffer.from([b])));
    expect(header).toMatchObject({ kind: 'proxied', source: { address: '192.0.2.7', port: 1 } });
  });

  it('treats UNKNOWN as "use the socket addresses", whatever follows before CRLF', () => {
    expect(parseV1('PROXY UNKNOWN')).toEqual({ kind: 'local', version: 1 });
    expect(parseV1('PROXY UNKNOWN ffff::1 ffff::2 65535 65535')).toEqual({ kind: 'local', version: 1 });
  });

  it('refuses every line that does not match exactly', () => {
    for (const bad of [
      'PROXY TCP4 192.0.2.7 198.51.100.1 56324',
      'PROXY TCP4  192.0.2.7 198.51.100.1 56324 25',
      'PROXY TCP4 192.0.2.07 198.51.100.1 56324 25',
      'PROXY TCP4 192.0.2.7 198.51.100.1 056324 25',
      'PROXY TCP4 192.0.2.7 198.51.100.1 65536 25',
      'PROXY TCP4 2001:db8::1 198.51.100.1 1 25',
      'PROXY TCP6 192.0.2.7 2001:db8::1 1 25',
      'PROXY TCP6 fe80::1%eth0 2001:db8::1 1 25',
      'PROXY UDP4 192.0.2.7 198.51.100.1 1 25',
      'proxy TCP4 192.0.2.7 198.51.100.1 1 25',
      'PROXY TCP4 192.0.2.7 198.51.100.1 1 25 ',
    ]) {
      expect(parseV1(bad), bad).toEqual({ kind: 'invalid', reason: 'malformed' });
    }
  });

  it('refuses a bare LF, a line past 107 octets, an early close, and anything that is not PROXY', async () => {
    expect((await read([Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 1 25\n')])).header).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect((await read([Buffer.from(`PROXY UNKNOWN ${'f'.repeat(100)}\r\n`)])).header).toEqual({ kind: 'invalid', reason: 'too-long' });
    expect((await read([Buffer.from('EHLO client.example\r\n')])).header).toEqual({ kind: 'invalid', reason: 'malformed' });
    const stream = new PassThrough();
    const input = new Input(65536);
    input.attach(stream);
    const r = readProxyHeader(input, AbortSignal.timeout(2000));
    stream.end('PROXY TCP4 1.2.3.4');
    expect(await r).toEqual({ kind: 'invalid', reason: 'closed' });
  });

  it('rejects with the deadline when the header never completes', async () => {
    const stream = new PassThrough();
    const input = new Input(65536);
    input.attach(stream);
    stream.write('PROXY TCP4 192.0.2.7');
    await expect(readProxyHeader(input, AbortSignal.timeout(50))).rejects.toBeDefined();
  });
});

describe('PROXY protocol v2', () => {
  it('reads TCP over IPv4 and IPv6, skipping TLVs, leaving what follows', async () => {
    const tlv = Buffer.from([0x04, 0x00, 0x03, 1, 2, 3]); // PP2_TYPE_NOOP
    const { header, rest } = await read([Buffer.concat([v2(0x21, 0x11, v4Block([192, 0, 2, 7], [198, 51, 100, 1], 56324, 25), tlv), Buffer.from('EHLO x\r\n')])]);
    expect(header).toEqual({ kind: 'proxied', version: 2, source: { address: '192.0.2.7', port: 56324 }, destination: { address: '198.51.100.1', port: 25 } });
    expect(rest).toBe('EHLO x\r\n');
    const a6 = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(a6, 0);
    Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(a6, 16);
    a6.writeUInt16BE(4000, 32);
    a6.writeUInt16BE(25, 34);
    expect(parseV2(v2(0x21, 0x21, a6))).toEqual({
      kind: 'proxied',
      version: 2,
      source: { address: '2001:db8::7', port: 4000 },
      destination: { address: '::ffff:c000:201', port: 25 },
    });
  });

  it('takes LOCAL (the proxy health check) and UNSPEC/UNIX as "use the socket addresses", whatever the address block', async () => {
    expect((await read([v2(0x20, 0x00, Buffer.alloc(0))])).header).toEqual({ kind: 'local', version: 2 });
    expect(parseV2(v2(0x20, 0x11, v4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)))).toEqual({ kind: 'local', version: 2 });
    expect(parseV2(v2(0x21, 0x00, Buffer.alloc(0)))).toEqual({ kind: 'local', version: 2 });
    expect(parseV2(v2(0x21, 0x31, Buffer.alloc(216)))).toEqual({ kind: 'local', version: 2 });
  });

  it('refuses other versions, commands, UDP, short address blocks and headers over 536 octets', async () => {
    const block = v4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2);
    expect(parseV2(v2(0x11, 0x11, block))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(parseV2(v2(0x22, 0x11, block))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(parseV2(v2(0x21, 0x12, block))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(parseV2(v2(0x21, 0x11, block.subarray(0, 11)))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(parseV2(v2(0x21, 0x21, Buffer.alloc(35)))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(parseV2(v2(0x21, 0x55, block))).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect((await read([v2(0x21, 0x11, block, Buffer.alloc(600))])).header).toEqual({ kind: 'invalid', reason: 'too-long' });
    const wrongSig = Buffer.from(v2(0x21, 0x11, block));
    wrongSig[11] = 0x0b;
    expect((await read([wrongSig])).header).toEqual({ kind: 'invalid', reason: 'malformed' });
  });
});
