import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions, type Envelope, type SendResult, type TransactionResult } from './index.js';
import { startSmtpSink, type Peer } from './fixtures/peers.js';

const signal = (): AbortSignal => AbortSignal.timeout(20_000);
const opts = (port: number): ConnectOptions => ({
  host: '127.0.0.1', port, heloName: 'moat.test', tls: { policy: 'opportunistic', verify: true },
  timeouts: { connect: 5_000, greeting: 5_000, command: 5_000, dataBlock: 5_000, dataEnd: 10_000 },
});

async function* body(text: string): AsyncIterable<Buffer> {
  yield Buffer.from(text, 'utf8');
}

const envelope = (over: Partial<Envelope> = {}): Envelope => ({
  from: 'sender@pub.test', size: 64, body8bit: false, needsSmtpUtf8: false, ret: 'HDRS', envid: 'Q1 env',
  recipients: [
    { address: 'one@lan.test', notify: ['SUCCESS', 'FAILURE'], orcpt: { addrType: 'rfc822', address: 'One+x@pub.test' } },
    { address: 'two@lan.test', notify: [], orcpt: { addrType: 'rfc822', address: 'two@pub.test' } },
  ],
  ...over,
});

function transaction(r: SendResult): TransactionResult {
  if (r.kind !== 'transaction') throw new Error(`expected a transaction, got ${JSON.stringify(r)}`);
  return r;
}

/** smtp-sink's dumps, oldest first (one file per transaction). */
function dumps(peer: Peer): string[] {
  return readdirSync(peer.dir).sort().map((f) => readFileSync(join(peer.dir, f), 'utf8'));
}
const header = (dump: string, name: string): string[] =>
  dump.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));

const peers: Peer[] = [];
const sink = async (...flags: string[]): Promise<Peer> => {
  const p = await startSmtpSink(flags);
  peers.push(p);
  return p;
};
afterAll(() => {
  for (const p of peers) p.stop();
});

describe('client against Postfix smtp-sink', () => {
  let full: Peer;
  beforeAll(async () => {
    full = await sink();
  });

  it('pipelines a DSN transaction with each recipient carrying its own NOTIFY and ORCPT', async () => {
    const c = await connect(opts(full.port), signal());
    expect(c.capabilities).toMatchObject({ pipelining: true, dsn: true, eightBitMime: true, enhancedStatusCodes: true, size: null });
    const r = transaction(await c.send(envelope(), body('Subject: x\r\n\r\n.dot line\r\n.\r\nend\r\n'), signal()));
    expect(r.mail).toMatchObject({ code: 250, status: '2.1.0' });
    expect(r.recipients.map((x) => x.code)).toEqual([250, 250]);
    expect(r.data).toMatchObject({ code: 250, status: '2.0.0' });
    await c.quit();
    const [dump = ''] = dumps(full);
    expect(header(dump, 'X-Mail-Args')).toEqual(['<sender@pub.test> RET=HDRS ENVID=Q1+20env']);
    expect(header(dump, 'X-Rcpt-Args')).toEqual([
      '<one@lan.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;One+2Bx@pub.test',
      '<two@lan.test> NOTIFY=NEVER ORCPT=rfc822;two@pub.test',
    ]);
    // smtp-sink un-stuffs the dots and writes LF line ends.
    expect(dump).toContain('\n.dot line\n.\nend\n');
  });

  it('reuses one connection for several transactions, with a null sender', async () => {
    const c = await connect(opts(full.port), signal());
    for (let i = 0; i < 3; i++) {
      const r = transaction(await c.send(envelope({ from: '' }), body(`n ${i}\r\n`), signal()));
      expect(r.data?.code).toBe(250);
      expect(c.usable).toBe(true);
    }
    expect((await c.noop(signal())).code).toBe(250);
    await c.quit();
    expect(dumps(full).some((d) => header(d, 'X-Mail-Args')[0]?.startsWith('<> ') === true)).toBe(true);
  });
});

describe('client against smtp-sink variants', () => {
  it('leaves out DSN parameters when DSN is not advertised (-N)', async () => {
    const p = await sink('-N');
    const c = await connect(opts(p.port), signal());
    transaction(await c.send(envelope(), body('x\r\n'), signal()));
    await c.quit();
    const [dump = ''] = dumps(p);
    expect(header(dump, 'X-Mail-Args')).toEqual(['<sender@pub.test>']);
    expect(header(dump, 'X-Rcpt-Args')).toEqual(['<one@lan.test>', '<two@lan.test>']);
  });

  it('sends in lock-step without PIPELINING (-p)', async () => {
    const p = await sink('-p');
    const c = await connect(opts(p.port), signal());
    expect(c.capabilities.pipelining).toBe(false);
    const r = transaction(await c.send(envelope(), body('x\r\n'), signal()));
    expect(r.data?.code).toBe(250);
    await c.quit();
  });

  it('refuses an 8-bit body locally when 8BITMIME is not advertised (-8)', async () => {
    const p = await sink('-8');
    const c = await connect(opts(p.port), signal());
    expect(await c.send(envelope({ body8bit: true }), body('\xe9\r\n'), signal())).toMatchObject({
      kind: 'precondition', reason: '8BITMIME', status: '5.6.3', permanent: true,
    });
    expect(c.usable).toBe(true);
    await c.quit();
    expect(dumps(p)).toEqual([]);
  });

  it('falls back to HELO when EHLO is refused (-e) and sends no ESMTP parameters', async () => {
    const p = await sink('-e');
    const c = await connect(opts(p.port), signal());
    expect(c.capabilities.esmtp).toBe(false);
    const r = transaction(await c.send(envelope(), body('x\r\n'), signal()));
    expect(r.data?.code).toBe(250);
    await c.quit();
    const [dump = ''] = dumps(p);
    expect(header(dump, 'X-Client-Proto')).toEqual(['SMTP']);
    expect(header(dump, 'X-Rcpt-Args')).toEqual(['<one@lan.test>', '<two@lan.test>']);
  });

  it('reports every RCPT refused, sends no DATA, and resets for the next transaction (-f RCPT)', async () => {
    const p = await sink('-f', 'RCPT');
    const c = await connect(opts(p.port), signal());
    const r = transaction(await c.send(envelope(), body('x\r\n'), signal()));
    expect(r.recipients.map((x) => x.code)).toEqual([500, 500]);
    expect(r.data).toBeNull();
    expect(c.usable).toBe(true);
    transaction(await c.send(envelope(), body('x\r\n'), signal()));
    await c.quit();
    expect(dumps(p)).toEqual([]);
  });

  it('gives a soft DATA refusal as the outcome for accepted recipients (-r DATA)', async () => {
    const p = await sink('-r', 'DATA');
    const c = await connect(opts(p.port), signal());
    const r = transaction(await c.send(envelope(), body('x\r\n'), signal()));
    expect(r.recipients.map((x) => x.code)).toEqual([250, 250]);
    expect(r.data?.code).toBe(450);
    expect(c.usable).toBe(true);
    await c.quit();
  });

  it('turns a 421 to MAIL into a transient SERVICE_UNAVAILABLE and an unusable connection (-Q MAIL)', async () => {
    const p = await sink('-Q', 'MAIL');
    const c = await connect(opts(p.port), signal());
    const e = await c.send(envelope(), body('x\r\n'), signal()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'SERVICE_UNAVAILABLE', transient: true, reply: { code: 421 } });
    expect(c.usable).toBe(false);
    await expect(c.send(envelope(), body('x\r\n'), signal())).rejects.toMatchObject({ code: 'UNUSABLE' });
  });

  it('reports a dropped connection as CLOSED (-q RCPT)', async () => {
    const p = await sink('-q', 'RCPT', '-p');
    const c = await connect(opts(p.port), signal());
    await expect(c.send(envelope(), body('x\r\n'), signal())).rejects.toMatchObject({ code: 'CLOSED', transient: true });
    expect(c.usable).toBe(false);
  });
});
