import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, encodeTrailer, envelopePart, MAX_TRAILER, parseRecord, parseTrailer, RECORD_MAGIC, RecordChecksum, type Envelope } from './record.js';

const env: Envelope = {
  v: 2,
  id: 'MB3K5Q2A7F4D9E1C',
  receivedAt: 1_700_000_000_000,
  from: '',
  smtputf8: true,
  body: '8BITMIME',
  ret: 'HDRS',
  envid: 'x+2Bid',
  client: { ip: '2001:db8::1', helo: 'h\u00e9lo.example', tls: true },
  recipients: [{ address: 'b\u00fcb@example.test', domain: 'example.test', notify: ['FAILURE', 'DELAY'], orcpt: { addrType: 'rfc822', address: 'bob@example.test' } }],
  prepend: 'Received: from x\r\n',
  edits: [{ at: 3, remove: 2, insert: '' }],
  verdict: { action: 'tag', score: 6.5, symbols: [{ name: 'A', score: 6.5 }] },
  isBounce: true,
};

function record(content: Buffer, e: Envelope = env, eightBit = true): Buffer {
  const json = encodeEnvelope(e);
  const body = Buffer.concat([RECORD_MAGIC, content, ...envelopePart(json)]);
  return Buffer.concat([body, encodeTrailer(content.length, json.length, eightBit, crc32(body))]);
}

describe('record', () => {
  it('round-trips the envelope (UTF-8 included) and points at the content', () => {
    const content = Buffer.from('Subject: h\u00e9\r\n\r\nbody\r\n');
    const r = parseRecord(record(content));
    expect(r).toEqual({ envelope: env, contentOffset: RECORD_MAGIC.length, contentLength: content.length, eightBit: true });
  });

  it('holds content that looks like a trailer or an envelope', () => {
    const content = Buffer.from('\nMOAT-END 1 2 7 00000000\n{"v":2}\n');
    const r = parseRecord(record(content));
    expect(typeof r === 'object' && r.contentLength).toBe(content.length);
  });

  it('reports a record cut anywhere as a problem, never as a parsed record', () => {
    const full = record(Buffer.from('Subject: x\r\n\r\nhello\r\n'));
    for (let n = 0; n < full.length; n++) {
      const r = parseRecord(full.subarray(0, n));
      expect(['no-magic', 'no-trailer', 'length-mismatch', 'checksum-mismatch'], `cut at ${n}`).toContain(r);
    }
  });

  it('trailer round-trips and fits in MAX_TRAILER octets at the largest lengths', () => {
    const t = encodeTrailer(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true, 0xffffffff);
    expect(t.length + 1).toBeLessThanOrEqual(MAX_TRAILER);
    const parsed = parseTrailer(Buffer.concat([Buffer.from('xyz\n'), t]));
    expect(parsed).toMatchObject({ contentLength: Number.MAX_SAFE_INTEGER, envelopeLength: Number.MAX_SAFE_INTEGER, eightBit: true, crc: 0xffffffff });
    expect(parseTrailer(Buffer.concat([Buffer.from('\n'), encodeTrailer(0, 5, false, 1)]))).toMatchObject({ contentLength: 0, envelopeLength: 5, eightBit: false, crc: 1 });
    expect(parseTrailer(encodeTrailer(5, 5, false, 1))).toBeNull(); // no newline before it
    expect(parseTrailer(Buffer.concat([Buffer.from('\n'), encodeTrailer(5, 5, false, 1), Buffer.from('x')]))).toBeNull();
  });

  it('refuses an envelope of another version or shape even with a valid checksum', () => {
    expect(parseRecord(record(Buffer.from('x'), { ...env, v: 1 as 2 }))).toBe('bad-envelope');
    const { prepend: _p, ...noPrepend } = env;
    expect(parseRecord(record(Buffer.from('x'), noPrepend as Envelope))).toBe('bad-envelope');
  });
});

describe('RecordChecksum', () => {
  it('equals the CRC-32 of the concatenation, however the data is split', () => {
    const data = Buffer.from('MOAT-SPOOL 2\nhello world\r\n\n{}\n');
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
