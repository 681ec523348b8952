import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, recipientOutcomes, type ConnectOptions, type Envelope, type SendResult, type TransactionResult } from './index.js';
import { makeCert, startLanSmtpd, type LanSmtpd } from './fixtures/peers.js';

const ALLOWED = new Set(['EHLO', 'HELO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA', 'RSET', 'NOOP', 'QUIT']);
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

const opts = (port: number, tls: ConnectOptions['tls'] = { policy: 'none', verify: true }): ConnectOptions => ({
  host: '127.0.0.1', port, heloName: 'moat.test', tls,
  timeouts: { connect: 5_000, greeting: 5_000, command: 5_000, dataBlock: 5_000, dataEnd: 10_000 },
});

const envelope = (recipients: string[], over: Partial<Envelope> = {}): Envelope => ({
  from: 'sender@pub.test', size: 100, body8bit: false, needsSmtpUtf8: false, ret: null, envid: null,
  recipients: recipients.map((address) => ({ address, notify: null, orcpt: null })), ...over,
});

async function* chunks(...parts: (string | Buffer)[]): AsyncIterable<Buffer> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

function transaction(r: SendResult): TransactionResult {
  if (r.kind !== 'transaction') throw new Error(`expected a transaction, got ${JSON.stringify(r)}`);
  return r;
}

describe('client against aiosmtpd (a LAN server with vendor extensions)', () => {
  let lan: LanSmtpd;
  beforeAll(async () => {
    lan = await startLanSmtpd({ advertise: ['XEXCH50', 'X-LINK2STATE', 'XCLIENT NAME ADDR', 'AUTH LOGIN', 'PIPELINING', 'DSN'] });
  });
  afterAll(() => lan.stop());

  it('delivers to accepted recipients, reports 550 and 451 per recipient, and never speaks vendor verbs', async () => {
    const c = await connect(opts(lan.port), signal());
    expect(c.capabilities).toMatchObject({ pipelining: true, dsn: true, eightBitMime: true, size: 10 * 1024 * 1024 });
    const r = transaction(
      await c.send(envelope(['ok1@lan.test', 'reject-me@lan.test', 'defer-me@lan.test', 'ok2@lan.test']), chunks('Subject: t\r\n\r\nhi\r\n'), signal()),
    );
    expect(r.mail.code).toBe(250);
    expect(r.recipients.map((x) => x.code)).toEqual([250, 550, 451, 250]);
    expect(r.recipients[1]).toMatchObject({ status: '5.1.1' });
    expect(r.data?.code).toBe(250);
    expect(recipientOutcomes(r).map((x) => x.code)).toEqual([250, 550, 451, 250]);
    await c.quit();
    expect(c.usable).toBe(false);
    const verbs = lan.verbs();
    expect(verbs).toContain('DATA');
    expect(verbs.filter((v) => !ALLOWED.has(v))).toEqual([]);
  });

  it('sends the body byte for byte: dots un-stuffed by the server, 8-bit kept, multi-megabyte streamed', async () => {
    const c = await connect(opts(lan.port), signal());
    const big = Buffer.alloc(3 * 1024 * 1024, 'x'.repeat(78) + '\r\n');
    const body = Buffer.concat([
      Buffer.from('Subject: dots\r\n\r\n.leading dot\r\n.\r\n..two\r\nGrüße \xff\r\n', 'latin1'),
      big,
      Buffer.from('.\r\nlast line'),
    ]);
    // Odd chunk sizes put dots and CRLFs on chunk boundaries.
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 7919) parts.push(body.subarray(i, i + 7919));
    const r = transaction(await c.send(envelope(['bytes@lan.test'], { body8bit: true, size: body.length }), chunks(...parts), signal()));
    expect(r.data?.code).toBe(250);
    const n = Number(/Q(\d+)/.exec(r.data?.lines[0] ?? '')?.[1]);
    const got = lan.message(n);
    expect(got.content.equals(Buffer.concat([body, Buffer.from('\r\n')]))).toBe(true);
    expect(got.envelope.mail_options).toEqual(expect.arrayContaining(['BODY=8BITMIME', `SIZE=${body.length}`]));
    await c.quit();
  });

  it('with pipelining and every recipient refused, skips the body, handles the DATA refusal and stays reusable', async () => {
    const c = await connect(opts(lan.port), signal());
    const r = transaction(await c.send(envelope(['reject1@lan.test', 'reject2@lan.test']), chunks('never sent\r\n'), signal()));
    expect(r.recipients.map((x) => x.code)).toEqual([550, 550]);
    expect(r.data).toBeNull();
    expect(c.usable).toBe(true);
    const again = transaction(await c.send(envelope(['ok@lan.test']), chunks('second\r\n'), signal()));
    expect(again.data?.code).toBe(250);
    await c.quit();
    // The refused DATA left MAIL in force, so an RSET came before the second MAIL.
    const verbs = lan.verbs();
    const last = verbs.slice(verbs.lastIndexOf('EHLO'));
    expect(last).toEqual(['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', 'RSET', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
  });

  it('refuses locally, before MAIL, a message over the SIZE limit or needing SMTPUTF8', async () => {
    const c = await connect(opts(lan.port), signal());
    const before = lan.verbs().length;
    expect(await c.send(envelope(['a@lan.test'], { size: 10 * 1024 * 1024 + 1 }), chunks('x\r\n'), signal())).toMatchObject({
      kind: 'precondition', reason: 'SIZE', status: '5.3.4',
    });
    expect(await c.send(envelope(['jürgen@lan.test']), chunks('x\r\n'), signal())).toMatchObject({ reason: 'SMTPUTF8', status: '5.6.7' });
    expect(lan.verbs().length).toBe(before);
    expect(c.usable).toBe(true);
    await c.quit();
  });
});

describe('client against aiosmtpd with SMTPUTF8', () => {
  let lan: LanSmtpd;
  beforeAll(async () => {
    lan = await startLanSmtpd({ smtpUtf8: true });
  });
  afterAll(() => lan.stop());

  it('sends SMTPUTF8 and a UTF-8 address, lock-step without PIPELINING', async () => {
    const c = await connect(opts(lan.port), signal());
    expect(c.capabilities.pipelining).toBe(false);
    const r = transaction(await c.send(envelope(['jürgen@lan.test'], { needsSmtpUtf8: true }), chunks('Subject: ü\r\n\r\nx\r\n'), signal()));
    expect(r.data?.code).toBe(250);
    const n = Number(/Q(\d+)/.exec(r.data?.lines[0] ?? '')?.[1]);
    expect(lan.message(n).envelope).toMatchObject({ rcpt_tos: ['jürgen@lan.test'], mail_options: expect.arrayContaining(['SMTPUTF8']) });
    await c.quit();
  });
});

describe('STARTTLS against aiosmtpd', () => {
  let tlsLan: LanSmtpd;
  let plainLan: LanSmtpd;
  let ca: Buffer;
  beforeAll(async () => {
    const cert = makeCert();
    ca = cert.ca;
    [tlsLan, plainLan] = await Promise.all([startLanSmtpd({ cert, requireStartTls: true, advertise: ['PIPELINING'] }), startLanSmtpd()]);
  });
  afterAll(() => {
    tlsLan.stop();
    plainLan.stop();
  });

  it('upgrades, verifies the certificate by name, issues EHLO again and forgets the plaintext capabilities', async () => {
    const c = await connect(opts(tlsLan.port, { policy: 'required', verify: true, ca, servername: 'lan.test' }), signal());
    expect(c.info.secure).toBe(true);
    expect(c.capabilities.startTls).toBe(false); // The post-TLS EHLO no longer offers it.
    const r = transaction(await c.send(envelope(['tls@lan.test']), chunks('secret\r\n'), signal()));
    expect(r.data?.code).toBe(250);
    const n = Number(/Q(\d+)/.exec(r.data?.lines[0] ?? '')?.[1]);
    expect(tlsLan.message(n).envelope.tls).toBe(true);
    await c.quit();
    expect(tlsLan.verbs().slice(0, 3)).toEqual(['EHLO', 'STARTTLS', 'EHLO']);
  });

  it('verifies against the IP address when no servername is given', async () => {
    const c = await connect(opts(tlsLan.port, { policy: 'required', verify: true, ca }), signal());
    expect(c.info.secure).toBe(true);
    await c.quit();
  });

  it('fails with TLS_FAILED on an untrusted certificate; opportunistic says a plaintext retry is possible', async () => {
    const required = await connect(opts(tlsLan.port, { policy: 'required', verify: true }), signal()).catch((e: unknown) => e);
    expect(required).toMatchObject({ code: 'TLS_FAILED', transient: true, retryWithoutTls: false });
    const opportunistic = await connect(opts(tlsLan.port, { policy: 'opportunistic', verify: true }), signal()).catch((e: unknown) => e);
    expect(opportunistic).toMatchObject({ code: 'TLS_FAILED', transient: true, retryWithoutTls: true });
  });

  it('accepts an unverified certificate when verify is false', async () => {
    const c = await connect(opts(tlsLan.port, { policy: 'opportunistic', verify: false }), signal());
    expect(c.info.secure).toBe(true);
    await c.quit();
  });

  it('fails with TLS_REQUIRED when the server does not offer STARTTLS, and goes on in plaintext when opportunistic', async () => {
    const e = await connect(opts(plainLan.port, { policy: 'required', verify: true }), signal()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'TLS_REQUIRED', transient: true });
    const c = await connect(opts(plainLan.port, { policy: 'opportunistic', verify: true }), signal());
    expect(c.info.secure).toBe(false);
    await c.quit();
  });
});
