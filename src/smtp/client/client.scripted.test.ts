/**
 * Behaviour no real server can be made to show on demand (CONVENTIONS.md 10): silence, garbage,
 * over-long lines, STARTTLS injection, drops mid-reply, idle 421, a body that fails to read, aborts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions, type Envelope } from './index.js';

type Script = (s: Socket, line: () => Promise<string>) => Promise<void> | void;

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback server that runs `script` for each connection; lines are read without CRLF. */
async function scripted(script: Script): Promise<number> {
  const server = createServer((s) => {
    sockets.add(s);
    let buf = '';
    const waiting: ((l: string) => void)[] = [];
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0 && waiting.length > 0; i = buf.indexOf('\r\n')) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 2);
        waiting.shift()?.(l);
      }
    });
    s.on('error', () => undefined);
    const line = (): Promise<string> =>
      new Promise((resolve) => {
        const i = buf.indexOf('\r\n');
        if (i >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 2);
          resolve(l);
        } else waiting.push(resolve);
      });
    void Promise.resolve(script(s, line)).catch(() => s.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

const opts = (port: number, over: Partial<ConnectOptions> = {}): ConnectOptions => ({
  host: '127.0.0.1', port, heloName: 'moat.test', tls: { policy: 'none', verify: true },
  timeouts: { connect: 2_000, greeting: 300, command: 300, dataBlock: 300, dataEnd: 300 }, ...over,
});
const env: Envelope = {
  from: 'a@pub.test', size: 10, body8bit: false, needsSmtpUtf8: false, ret: null, envid: null,
  recipients: [{ address: 'b@lan.test', notify: null, orcpt: null }],
};
async function* text(t: string): AsyncIterable<Buffer> {
  yield Buffer.from(t);
}
const never = (): AbortSignal => new AbortController().signal;

/** Greets and answers EHLO without extensions, then hands over. */
async function hello(s: Socket, line: () => Promise<string>): Promise<void> {
  s.write('220 scripted ESMTP\r\n');
  await line();
  s.write('250 scripted\r\n');
}

describe('client against a scripted peer', () => {
  it('times out when the server never greets', async () => {
    const port = await scripted(() => undefined);
    await expect(connect(opts(port), never())).rejects.toMatchObject({ code: 'TIMEOUT', transient: true });
  });

  it('refuses a malformed greeting', async () => {
    const port = await scripted((s) => void s.write('hello there\r\n'));
    await expect(connect(opts(port), never())).rejects.toMatchObject({ code: 'PROTOCOL' });
  });

  it('refuses an endless reply line without buffering it', async () => {
    const port = await scripted((s) => void s.write(`220 ${'x'.repeat(100_000)}`));
    await expect(connect(opts(port), never())).rejects.toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/longer than 4096/) });
  });

  it('reports a drop in the middle of a multi-line reply as CLOSED', async () => {
    const port = await scripted(async (s, line) => {
      s.write('220 hi\r\n');
      await line();
      s.end('250-scripted\r\n250-PIPEL');
    });
    await expect(connect(opts(port), never())).rejects.toMatchObject({ code: 'CLOSED', transient: true });
  });

  it('treats a 554 greeting as a permanent REJECTED and a 421 greeting as SERVICE_UNAVAILABLE', async () => {
    const p554 = await scripted((s) => void s.write('554 5.7.1 go away\r\n'));
    await expect(connect(opts(p554), never())).rejects.toMatchObject({ code: 'REJECTED', transient: false, reply: { code: 554, status: '5.7.1' } });
    const p421 = await scripted((s) => void s.end('421 4.3.2 busy\r\n'));
    await expect(connect(opts(p421), never())).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', transient: true });
  });

  it('refuses data injected after the 220 to STARTTLS (RFC 3207 §5)', async () => {
    const port = await scripted(async (s, line) => {
      s.write('220 hi\r\n');
      await line();
      s.write('250-scripted\r\n250 STARTTLS\r\n');
      await line();
      s.write('220 go ahead\r\n250 injected\r\n');
    });
    await expect(connect(opts(port, { tls: { policy: 'required', verify: false } }), never())).rejects.toMatchObject({
      code: 'PROTOCOL', message: expect.stringMatching(/RFC 3207/),
    });
  });

  it('falls back to HELO after 502 to EHLO, but not after a 4xx', async () => {
    const p502 = await scripted(async (s, line) => {
      s.write('220 hi\r\n');
      await line();
      s.write('502 5.5.1 EHLO not implemented\r\n');
      expect(await line()).toBe('HELO moat.test');
      s.write('250 scripted\r\n');
    });
    const c = await connect(opts(p502), never());
    expect(c.capabilities.esmtp).toBe(false);
    c.close();
    const p451 = await scripted(async (s, line) => {
      s.write('220 hi\r\n');
      await line();
      s.write('451 4.3.0 later\r\n');
    });
    await expect(connect(opts(p451), never())).rejects.toMatchObject({ code: 'REJECTED', transient: true });
  });

  it('notices a 421 that arrived while the connection sat idle', async () => {
    const port = await scripted(async (s, line) => {
      await hello(s, line);
      s.write('421 4.4.2 idle timeout\r\n');
    });
    const c = await connect(opts(port), never());
    await expect.poll(() => c.usable).toBe(false);
    await expect(c.send(env, text('x\r\n'), never())).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE', transient: true, reply: { code: 421, status: '4.4.2' },
    });
  });

  it('kills the connection instead of ending the message when the body fails to read', async () => {
    let sawDot = false;
    const port = await scripted(async (s, line) => {
      await hello(s, line);
      for (const reply of ['250 ok', '250 ok', '354 go']) {
        await line();
        s.write(`${reply}\r\n`);
      }
      for (;;) if ((await line()) === '.') sawDot = true;
    });
    const c = await connect(opts(port), never());
    async function* broken(): AsyncIterable<Buffer> {
      yield Buffer.from('first part\r\n');
      throw new Error('EIO');
    }
    await expect(c.send(env, broken(), never())).rejects.toMatchObject({ code: 'BODY_READ_FAILED', transient: true });
    expect(c.usable).toBe(false);
    expect(sawDot).toBe(false);
  });

  it('aborts a slow end-of-data wait when the signal fires', async () => {
    const port = await scripted(async (s, line) => {
      await hello(s, line);
      for (const reply of ['250 ok', '250 ok', '354 go']) {
        await line();
        s.write(`${reply}\r\n`);
      }
    });
    const c = await connect(opts(port, { timeouts: { command: 2_000, dataEnd: 60_000 } }), never());
    const ac = new AbortController();
    const p = c.send(env, text('x\r\n'), ac.signal);
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(c.usable).toBe(false);
  });

  it('keeps the reply of a server that rejects mid-body and hangs up', async () => {
    const port = await scripted(async (s, line) => {
      await hello(s, line);
      for (const reply of ['250 ok', '250 ok', '354 go']) {
        await line();
        s.write(`${reply}\r\n`);
      }
      await line();
      s.end('552 5.3.4 too big\r\n');
    });
    const c = await connect(opts(port, { timeouts: { dataBlock: 2_000 } }), never());
    let sourceClosed = false;
    async function* slow(): AsyncIterable<Buffer> {
      try {
        yield Buffer.from('line\r\n');
        await new Promise((r) => setTimeout(r, 100));
        for (let i = 0; i < 100; i++) yield Buffer.alloc(64 * 1024, 'y');
        yield Buffer.from('\r\n');
      } finally {
        sourceClosed = true;
      }
    }
    const r = await c.send(env, slow(), never());
    expect(r).toMatchObject({ kind: 'transaction', data: { code: 552, status: '5.3.4' } });
    expect(c.usable).toBe(false);
    expect(sourceClosed).toBe(true);
  });

  it('with PIPELINING sends MAIL, every RCPT and DATA in one write, DATA last (RFC 2920 §3.1)', async () => {
    const firstChunk: string[] = [];
    const port = await scripted(async (s, line) => {
      s.write('220 hi\r\n');
      await line();
      s.once('data', (d: Buffer) => firstChunk.push(d.toString('latin1')));
      s.write('250-scripted\r\n250 PIPELINING\r\n');
      for (let i = 0; i < 4; i++) await line();
      s.write('250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n');
      if ((await line()) === 'body' && (await line()) === '.') s.write('250 2.0.0 queued\r\n');
    });
    const c = await connect(opts(port), never());
    const two: Envelope = { ...env, recipients: [{ address: 'x@lan.test', notify: null, orcpt: null }, { address: 'y@lan.test', notify: null, orcpt: null }] };
    const r = await c.send(two, text('body\r\n'), never());
    expect(firstChunk).toEqual(['MAIL FROM:<a@pub.test>\r\nRCPT TO:<x@lan.test>\r\nRCPT TO:<y@lan.test>\r\nDATA\r\n']);
    expect(r).toMatchObject({ kind: 'transaction', recipients: [{ code: 550 }, { code: 250 }], data: { code: 250 } });
    c.close();
  });

  it('throws BUSY for a second operation while one is running', async () => {
    const port = await scripted(async (s, line) => {
      await hello(s, line);
      await line();
      setTimeout(() => s.write('250 ok\r\n'), 50);
    });
    const c = await connect(opts(port, { timeouts: { command: 2_000 } }), never());
    const first = c.noop(never());
    await expect(c.noop(never())).rejects.toMatchObject({ code: 'BUSY' });
    expect((await first).code).toBe(250);
    c.close();
  });

  it('refuses a host name: the client never resolves names', async () => {
    await expect(connect(opts(25, { host: 'mail.lan.test' }), never())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', transient: false });
  });

  it('reports a refused TCP connection as CONNECT_FAILED', async () => {
    const port = await scripted(() => undefined);
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    await expect(connect(opts(port), never())).rejects.toMatchObject({ code: 'CONNECT_FAILED', transient: true });
  });
});
