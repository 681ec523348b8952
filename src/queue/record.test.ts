import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeHead, encodeTrailer, headLength, MAX_TRAILER, parseHead, parseTrailer, RecordChecksum, type Envelope } from './record.js';

const env: Envelope = {
  v: 1,
  id: 'MB3K5Q2A7F4D9E1C',
  receivedAt: 1_700_000_000_000,
  from: '',
  smtputf8: true,
  body: '8BITMIME',
  ret: 'HDRS',
  envid: 'x+2Bid',
  client: { ip: '2001:db8::1', helo: 'h\u00e9lo.example', tls: true },
  recipients: [{ address: 'b\u00fcb@example.test', domain: 'example.test', notify: ['FAILURE', 'DELAY'], orcpt: { addrType: 'rfc822', address: 'bob@example.test' } }],
  isBounce: true,
};

describe('record head and trailer', () => {
  it('round-trips the envelope (UTF-8 included) and points at the first content octet', () => {
    const head = encodeHead(env);
    const parsed = parseHead(Buffer.concat([head, Buffer.from('content')]));
    expect(parsed).toEqual({ envelope: env, contentOffset: head.length });
    expect(headLength(head)).toBe(head.length);
  });

  it('reports a head cut anywhere as bad-envelope or no-magic, never as a parsed envelope', () => {
    const head = encodeHead(env);
    for (let n = 0; n < head.length; n++) {
      const r = parseHead(head.subarray(0, n));
      expect(['no-magic', 'bad-envelope'], `cut at ${n}`).toContain(r);
    }
  });

  it('trailer round-trips and fits in MAX_TRAILER octets at the largest length', () => {
    const t = encodeTrailer(Number.MAX_SAFE_INTEGER, true, 0xffffffff);
    expect(t.length).toBeLessThanOrEqual(MAX_TRAILER);
    expect(parseTrailer(Buffer.concat([Buffer.from('xyz'), t]))).toEqual({ contentLength: Number.MAX_SAFE_INTEGER, eightBit: true, crc: 0xffffffff });
    expect(parseTrailer(encodeTrailer(0, false, 1))).toEqual({ contentLength: 0, eightBit: false, crc: 1 });
    expect(parseTrailer(encodeTrailer(5, false, 1).subarray(1))).toBeNull();
    expect(parseTrailer(Buffer.concat([encodeTrailer(5, false, 1), Buffer.from('x')]))).toBeNull();
  });
});

describe('RecordChecksum', () => {
  it('equals the CRC-32 of the concatenation, however the data is split', () => {
    const data = Buffer.from('MOAT-SPOOL 1\n2\n{}\nhello world\r\n');
    for (let i = 0; i <= data.length; i++) {
      const c = new RecordChecksum();
      c.update(data.subarray(0, i));
      c.update(data.subarray(i));
      expect(c.digest, `split ${i}`).toBe(crc32(data));
    }
  });

  // Regression: zlib's crc32(value, NULL, 0) returns 0, and Node passes a NULL pointer for an empty
  // buffer whose ArrayBuffer has no backing store.
  it('is not reset by an empty buffer', () => {
    const c = new RecordChecksum();
    c.update(Buffer.from('hello'));
    const empty = Buffer.alloc(0);
    void empty.buffer; // materialises an ArrayBuffer without a data pointer
    c.update(empty);
    expect(c.digest).toBe(crc32('hello'));
  });
});
