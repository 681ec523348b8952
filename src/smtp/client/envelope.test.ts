import { describe, expect, it } from 'vitest';
import { HELO_CAPABILITIES, type Capabilities } from './capabilities.js';
import { checkPreconditions, mailCommand, rcptCommand, validateEnvelope, type Envelope } from './envelope.js';

const all: Capabilities = {
  esmtp: true, pipelining: true, size: 1000, eightBitMime: true, smtpUtf8: true, dsn: true,
  chunking: false, startTls: false, enhancedStatusCodes: true,
};
const bare: Capabilities = { ...HELO_CAPABILITIES, esmtp: true };

const env = (over: Partial<Envelope> = {}): Envelope => ({
  from: 'a@example.com', size: 500, body8bit: false, needsSmtpUtf8: false, ret: null, envid: null,
  recipients: [{ address: 'b@lan.test', notify: null, orcpt: null }], ...over,
});

describe('MAIL and RCPT command lines', () => {
  it('sends only the parameters the server advertised', () => {
    const e = env({ body8bit: true, ret: 'HDRS', envid: 'id 1+x' });
    expect(mailCommand(e, all)).toBe('MAIL FROM:<a@example.com> SIZE=500 BODY=8BITMIME RET=HDRS ENVID=id+201+2Bx');
    expect(mailCommand(e, bare)).toBe('MAIL FROM:<a@example.com>');
  });

  it('writes the null reverse-path as <>', () => {
    expect(mailCommand(env({ from: '' }), bare)).toBe('MAIL FROM:<>');
  });

  it('adds SMTPUTF8 when asked or when an address is not ASCII', () => {
    expect(mailCommand(env({ needsSmtpUtf8: true }), bare)).toBe('MAIL FROM:<a@example.com> SMTPUTF8');
    expect(mailCommand(env({ from: 'jörg@example.com' }), { ...bare, smtpUtf8: true })).toBe('MAIL FROM:<jörg@example.com> SMTPUTF8');
  });

  it('gives each recipient its own NOTIFY and ORCPT, only with DSN', () => {
    const r1 = { address: 'x@lan.test', notify: ['SUCCESS', 'FAILURE'] as const, orcpt: { addrType: 'rfc822', address: 'x+1@pub.test' } };
    const r2 = { address: 'y@lan.test', notify: [] as const, orcpt: { addrType: 'rfc822', address: 'y=2@pub.test' } };
    expect(rcptCommand(r1, all)).toBe('RCPT TO:<x@lan.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2B1@pub.test');
    expect(rcptCommand(r2, all)).toBe('RCPT TO:<y@lan.test> NOTIFY=NEVER ORCPT=rfc822;y+3D2@pub.test');
    expect(rcptCommand(r1, bare)).toBe('RCPT TO:<x@lan.test>');
  });
});

describe('preconditions', () => {
  it('refuses SMTPUTF8 mail to a server without it (5.6.7)', () => {
    expect(checkPreconditions(env({ needsSmtpUtf8: true }), bare)).toMatchObject({ kind: 'precondition', reason: 'SMTPUTF8', status: '5.6.7' });
    expect(checkPreconditions(env({ recipients: [{ address: 'ü@lan.test', notify: null, orcpt: null }] }), bare)).toMatchObject({ reason: 'SMTPUTF8' });
  });

  it('refuses 8-bit bodies to a server without 8BITMIME (5.6.3)', () => {
    expect(checkPreconditions(env({ body8bit: true }), bare)).toMatchObject({ reason: '8BITMIME', status: '5.6.3', permanent: true });
  });

  it('refuses a message over a non-zero SIZE limit (5.3.4), not over SIZE 0', () => {
    expect(checkPreconditions(env({ size: 1001 }), all)).toMatchObject({ reason: 'SIZE', status: '5.3.4' });
    expect(checkPreconditions(env({ size: 1000 }), all)).toBeNull();
    expect(checkPreconditions(env({ size: 10 ** 9 }), { ...all, size: 0 })).toBeNull();
  });

  it('refuses envelopes that would inject command lines', () => {
    expect(() => validateEnvelope(env({ from: 'a@b\r\nRSET' }))).toThrow(/control/);
    expect(() => validateEnvelope(env({ recipients: [{ address: 'x@y\nDATA', notify: null, orcpt: null }] }))).toThrow();
    expect(() => validateEnvelope(env({ recipients: [] }))).toThrow(/no recipients/);
    expect(() => validateEnvelope(env({ envid: 'x'.repeat(101) }))).toThrow(/ENVID/);
  });
});
