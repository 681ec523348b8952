import * as packet from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { checkReply, encodeQuery, interpret, negativeTtl } from './message.js';
import type { Query, Reply } from './message.js';

const q = (name: string, type: Query['type'] = 'A'): Query => ({ id: 0x1234, name, type, udpSize: 1232 });

function reply(query: Query, p: Partial<Packet> & { rcode?: number } = {}): Buffer {
  const buf = packet.encode({
    type: 'response',
    id: p.id ?? query.id,
    flags: (p.flags ?? packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE) | (p.rcode ?? 0),
    questions: p.questions ?? [{ name: query.name, type: query.type, class: 'IN' }],
    answers: p.answers ?? [],
    authorities: p.authorities ?? [],
    additionals: p.additionals ?? [],
  });
  return buf;
}

function believed(query: Query, p: Partial<Packet> & { rcode?: number } = {}): Reply {
  const r = checkReply(reply(query, p), query);
  if (typeof r === 'string') throw new Error(`reply not believed: ${r}`);
  return r;
}

const soa = (ttl: number, minimum: number): Answer => ({
  type: 'SOA',
  name: 'example.test',
  ttl,
  data: { mname: 'ns.example.test', rname: 'hostmaster.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
});

describe('encodeQuery', () => {
  it('asks for recursion and advertises EDNS0 with the given UDP size, or no OPT at 0', () => {
    const withEdns = packet.decode(encodeQuery(q('mail.example.test')));
    expect(withEdns.flag_rd).toBe(true);
    expect(withEdns.id).toBe(0x1234);
    expect(withEdns.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
    const plain = packet.decode(encodeQuery({ ...q('mail.example.test'), udpSize: 0 }));
    expect(plain.additionals).toHaveLength(0);
    expect(withEdns.flag_ad).toBe(false);
    expect(withEdns.additionals?.[0]).toMatchObject({ flag_do: false });
  });

  it('with dnssec, sets AD (RFC 6840 §5.7) and the OPT DO bit (RFC 3225)', () => {
    const m = packet.decode(encodeQuery({ ...q('_25._tcp.mx.example.test', 'TLSA'), dnssec: true }));
    expect(m.flag_ad).toBe(true);
    expect(m.flag_rd).toBe(true);
    expect(m.additionals?.[0]).toMatchObject({ type: 'OPT', flag_do: true });
  });
});

describe('DNSSEC status and TLSA records', () => {
  it('reads the AD bit of a reply and decodes TLSA records (RFC 6698 §2.1)', () => {
    const query = q('_25._tcp.mx.example.test', 'TLSA');
    const data = Buffer.from('ab'.repeat(32), 'hex');
    const answers: Answer[] = [{ type: 'TLSA', name: query.name, ttl: 60, data: { usage: 3, selector: 1, matchingType: 1, certificate: data } }];
    const secure = believed(query, { flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | packet.AUTHENTIC_DATA, answers });
    expect(secure.ad).toBe(true);
    expect(interpret(secure, query)).toEqual({ kind: 'ok', records: [{ usage: 3, selector: 1, matchingType: 1, data }], ttl: 60 });
    expect(believed(query, { answers }).ad).toBe(false);
  });
});

describe('checkReply (RFC 5452 §9.1)', () => {
  const query = q('mail.example.test');
  it('believes the answer with our id, question, type and class', () => {
    expect(typeof checkReply(reply(query), query)).toBe('object');
  });

  it('matches the question name case-insensitively', () => {
    expect(typeof checkReply(reply(query, { questions: [{ name: 'MAIL.Example.TEST', type: 'A', class: 'IN' }] }), query)).toBe('object');
  });

  it('drops a wrong id, a query, another name, type or class, a short datagram', () => {
    expect(checkReply(reply(query, { id: 0x4321 }), query)).toBe('mismatch');
    expect(checkReply(packet.encode({ type: 'query', id: query.id, questions: [{ name: query.name, type: 'A' }] }), query)).toBe('mismatch');
    expect(checkReply(reply(query, { questions: [{ name: 'evil.test', type: 'A', class: 'IN' }] }), query)).toBe('mismatch');
    expect(checkReply(reply(query, { questions: [{ name: query.name, type: 'AAAA', class: 'IN' }] }), query)).toBe('mismatch');
    expect(checkReply(reply(query, { questions: [{ name: query.name, type: 'A', class: 'CH' }] }), query)).toBe('mismatch');
    expect(checkReply(Buffer.from([0x12, 0x34, 0x80]), query)).toBe('mismatch');
  });

  it('drops a NOERROR without question, accepts an error without one', () => {
    expect(checkReply(reply(query, { questions: [] }), query)).toBe('mismatch');
    expect(checkReply(reply(query, { questions: [], rcode: 1 }), query)).toMatchObject({ rcode: 1 });
  });

  it('calls a matching but undecodable reply malformed, unless truncated', () => {
    const good = reply(query, { answers: [{ type: 'A', name: query.name, ttl: 5, data: '127.0.0.1' }] });
    const cut = good.subarray(0, good.length - 2);
    expect(checkReply(cut, query)).toBe('malformed');
    cut.writeUInt16BE(cut.readUInt16BE(2) | packet.TRUNCATED_RESPONSE, 2);
    expect(checkReply(cut, query)).toMatchObject({ truncated: true, message: null });
  });

  it('calls records whose RDLENGTH disagrees with their content malformed (dns-packet would read past it)', () => {
    const mxq = q('example.test', 'MX');
    const mx = reply(mxq, { answers: [{ type: 'MX', name: mxq.name, ttl: 5, data: { preference: 1, exchange: 'mx.example.test' } }] });
    const rdlengthAt = 12 + 18 + 14 + 8; // header, question (name 14 + 4), owner name, type/class/ttl
    expect(mx.readUInt16BE(rdlengthAt)).toBe(19);
    mx.writeUInt16BE(3, rdlengthAt);
    expect(checkReply(mx, mxq)).toBe('malformed');
    const a = reply(query, { answers: [{ type: 'A', name: query.name, ttl: 5, data: '127.0.0.1' }] });
    a.writeUInt16BE(2, a.length - 6);
    expect(checkReply(a, query)).toBe('malformed');
  });
});

describe('interpret', () => {
  it('follows a CNAME chain in the answer, TTL the minimum over chain and RRset', () => {
    const query = q('alias.example.test');
    const r = believed(query, {
      answers: [
        { type: 'CNAME', name: 'Alias.example.test', ttl: 300, data: 'hop.example.test' },
        { type: 'CNAME', name: 'hop.example.test', ttl: 120, data: 'mail.example.test' },
        { type: 'A', name: 'mail.example.test', ttl: 600, data: '127.0.0.10' },
        { type: 'A', name: 'mail.example.test', ttl: 500, data: '127.0.0.11' },
        { type: 'A', name: 'unrelated.example.test', ttl: 1, data: '6.6.6.6' },
      ],
    });
    expect(interpret(r, query)).toEqual({ kind: 'ok', records: ['127.0.0.10', '127.0.0.11'], ttl: 120 });
  });

  it('asked for CNAME, gives the CNAME itself', () => {
    const query = q('alias.example.test', 'CNAME');
    const r = believed(query, { answers: [{ type: 'CNAME', name: 'alias.example.test', ttl: 30, data: 'Mail.Example.Test' }] });
    expect(interpret(r, query)).toEqual({ kind: 'ok', records: ['mail.example.test'], ttl: 30 });
  });

  it('a chain that ends without records is NODATA, or NXDOMAIN by the RCODE (RFC 6604)', () => {
    const query = q('alias.example.test');
    const chain: Answer[] = [{ type: 'CNAME', name: 'alias.example.test', ttl: 20, data: 'gone.example.test' }];
    expect(interpret(believed(query, { answers: chain, authorities: [soa(100, 50)] }), query)).toEqual({ kind: 'none', reason: 'nodata', ttl: 20 });
    expect(interpret(believed(query, { answers: chain, rcode: 3 }), query)).toEqual({ kind: 'none', reason: 'nxdomain', ttl: null });
  });

  it('takes the negative TTL as min(SOA TTL, MINIMUM) (RFC 2308 §5), null without SOA', () => {
    const query = q('nope.example.test');
    expect(negativeTtl(packet.decode(reply(query, { rcode: 3, authorities: [soa(900, 60)] })))).toBe(60);
    expect(negativeTtl(packet.decode(reply(query, { rcode: 3, authorities: [soa(40, 3600)] })))).toBe(40);
    expect(interpret(believed(query, { rcode: 3, authorities: [soa(40, 3600)] }), query)).toEqual({ kind: 'none', reason: 'nxdomain', ttl: 40 });
    expect(interpret(believed(query, {}), query)).toEqual({ kind: 'none', reason: 'nodata', ttl: null });
  });

  it('maps RCODEs to error codes, unknown ones (and extended BADVERS) to BADRESPONSE', () => {
    const query = q('x.example.test');
    expect(interpret(believed(query, { rcode: 2 }), query)).toEqual({ kind: 'error', code: 'SERVFAIL' });
    expect(interpret(believed(query, { rcode: 5 }), query)).toEqual({ kind: 'error', code: 'REFUSED' });
    expect(interpret(believed(query, { rcode: 4 }), query)).toEqual({ kind: 'error', code: 'NOTIMP' });
    expect(interpret(believed(query, { rcode: 1 }), query)).toEqual({ kind: 'error', code: 'FORMERR' });
    expect(interpret(believed(query, { rcode: 9 }), query)).toEqual({ kind: 'error', code: 'BADRESPONSE' });
    const badvers = believed(query, { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
    expect(badvers.rcode).toBe(16);
    expect(interpret(badvers, query)).toEqual({ kind: 'error', code: 'BADRESPONSE' });
  });

  it('calls a referral (no recursion, no authority) BADRESPONSE, not NODATA', () => {
    const query = q('www.example.test');
    const r = believed(query, { flags: 0, authorities: [{ type: 'NS', name: 'example.test', ttl: 300, data: 'ns.example.test' }] });
    expect(interpret(r, query)).toEqual({ kind: 'error', code: 'BADRESPONSE' });
  });

  it('decodes TXT strings as UTF-8 without joining, MX with a null MX as "", SOA fields', () => {
    const txt = q('t.example.test', 'TXT');
    const t = believed(txt, { answers: [{ type: 'TXT', name: txt.name, ttl: 5, data: ['v=spf1 ', Buffer.from('grüße')] }] });
    expect(interpret(t, txt)).toEqual({ kind: 'ok', records: [['v=spf1 ', 'grüße']], ttl: 5 });
    const mx = q('example.test', 'MX');
    const m = believed(mx, { answers: [{ type: 'MX', name: mx.name, ttl: 5, data: { preference: 0, exchange: '.' } }] });
    expect(interpret(m, mx)).toEqual({ kind: 'ok', records: [{ exchange: '', priority: 0 }], ttl: 5 });
    const s = q('example.test', 'SOA');
    const so = believed(s, { answers: [soa(77, 5)] });
    expect(interpret(so, s)).toEqual({
      kind: 'ok',
      records: [{ mname: 'ns.example.test', rname: 'hostmaster.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 5 }],
      ttl: 77,
    });
  });

  it('hands out frozen records (the cache shares them)', () => {
    const query = q('mail.example.test');
    const r = interpret(believed(query, { answers: [{ type: 'A', name: query.name, ttl: 5, data: '127.0.0.1' }] }), query);
    expect(r.kind === 'ok' && Object.isFrozen(r.records)).toBe(true);
  });
});
