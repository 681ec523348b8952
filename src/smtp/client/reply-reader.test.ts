import { describe, expect, it } from 'vitest';
import { SmtpClientError } from './errors.js';
import { ReplyParser } from './reply-reader.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function feedAll(p: ReplyParser, ...chunks: string[]) {
  return chunks.flatMap((c) => p.push(b(c)));
}

function protocolError(f: () => unknown): SmtpClientError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SmtpClientError);
    expect((e as SmtpClientError).code).toBe('PROTOCOL');
    expect((e as SmtpClientError).transient).toBe(true);
    return e as SmtpClientError;
  }
  throw new Error('expected a PROTOCOL error');
}

describe('ReplyParser', () => {
  it('parses a one-line reply with an enhanced status into SmtpReply', () => {
    const [r] = feedAll(new ReplyParser(), '550 5.1.1 User unknown\r\n');
    expect(r).toEqual({ code: 550, status: '5.1.1', lines: ['User unknown'] });
  });

  it('assembles a multi-line reply', () => {
    const replies = feedAll(new ReplyParser(), '250-mx.lan\r\n250-PIPELINING\r\n250 SIZE 1000\r\n');
    expect(replies).toEqual([{ code: 250, status: null, lines: ['mx.lan', 'PIPELINING', 'SIZE 1000'] }]);
  });

  it('assembles replies split across chunks at every byte', () => {
    const wire = '250-mx.lan\r\n250 8BITMIME\r\n354 go ahead\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      const replies = feedAll(new ReplyParser(), wire.slice(0, cut), wire.slice(cut));
      expect(replies.map((r) => r.code)).toEqual([250, 354]);
      expect(replies[0]?.lines).toEqual(['mx.lan', '8BITMIME']);
    }
  });

  it('returns several pipelined replies from one chunk, in order', () => {
    const replies = feedAll(new ReplyParser(), '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 End\r\n');
    expect(replies.map((r) => `${r.code} ${r.status}`)).toEqual(['250 2.1.0', '250 2.1.5', '550 5.1.1', '354 null']);
  });

  it('accepts a bare code as the last line and a bare LF line end', () => {
    expect(feedAll(new ReplyParser(), '250\r\n')).toEqual([{ code: 250, status: null, lines: [''] }]);
    expect(feedAll(new ReplyParser(), '221 bye\n').map((r) => r.code)).toEqual([221]);
  });

  it('keeps nothing until the final line arrives', () => {
    const p = new ReplyParser();
    expect(feedAll(p, '250-a\r\n250-b')).toEqual([]);
    expect(p.pending).toBe(true);
    expect(feedAll(p, '\r\n250 c\r\n')[0]?.lines).toEqual(['a', 'b', 'c']);
    expect(p.pending).toBe(false);
  });

  it('replaces control characters in reply text', () => {
    const [r] = feedAll(new ReplyParser(), '250 ok\x1b[31m\x00\r\n');
    expect(r?.lines).toEqual(['ok?[31m?']);
  });

  it.each([
    ['no code', 'hello\r\n'],
    ['a code out of range', '199 hm\r\n'],
    ['a code without separator', '2500 x\r\n'],
    ['a two-digit code', '25 x\r\n'],
    ['a wrong separator', '250_x\r\n'],
    ['a code change inside a multi-line reply', '250-a\r\n251 b\r\n'],
  ])('refuses %s', (_name, wire) => {
    protocolError(() => new ReplyParser().push(b(wire)));
  });

  it('refuses an over-long line before it ends, and stays failed', () => {
    const p = new ReplyParser({ maxLineOctets: 600, maxLines: 100 });
    expect(p.push(b(`250 ${'x'.repeat(500)}`))).toEqual([]);
    protocolError(() => p.push(b('x'.repeat(200))));
    protocolError(() => p.push(b('\r\n250 ok\r\n')));
  });

  it('accepts a line of exactly the limit', () => {
    const p = new ReplyParser({ maxLineOctets: 600, maxLines: 100 });
    const line = `250 ${'x'.repeat(596)}`;
    expect(p.push(b(`${line}\r\n`))[0]?.lines[0]).toHaveLength(596);
  });

  it('refuses a reply with too many lines', () => {
    const p = new ReplyParser({ maxLineOctets: 4096, maxLines: 3 });
    protocolError(() => p.push(b('250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n')));
  });
});
