import { describe, expect, it } from 'vitest';
import { downstreamReply } from '../reply.js';
import { HELO_CAPABILITIES, parseCapabilities } from './capabilities.js';

const ehlo = (...keywords: string[]) => downstreamReply(250, ['mx.lan greets you', ...keywords]);

describe('parseCapabilities', () => {
  it('reads the extensions the client uses', () => {
    const caps = parseCapabilities(
      ehlo('PIPELINING', 'SIZE 10240000', '8BITMIME', 'SMTPUTF8', 'DSN', 'CHUNKING', 'STARTTLS', 'ENHANCEDSTATUSCODES'),
    );
    expect(caps).toEqual({
      esmtp: true,
      pipelining: true,
      size: 10240000,
      eightBitMime: true,
      smtpUtf8: true,
      dsn: true,
      chunking: true,
      startTls: true,
      enhancedStatusCodes: true,
    });
  });

  it('ignores vendor and unknown keywords, and the greeting line', () => {
    const caps = parseCapabilities(ehlo('XEXCH50', 'X-LINK2STATE', 'AUTH LOGIN PLAIN', 'AUTH=LOGIN', 'XCLIENT NAME ADDR', 'X-EXPS GSSAPI NTLM'));
    expect(caps).toEqual({ ...HELO_CAPABILITIES, esmtp: true });
    // "PIPELINING" as the server's name is not a keyword.
    expect(parseCapabilities(downstreamReply(250, ['PIPELINING'])).pipelining).toBe(false);
  });

  it('is case-insensitive and tolerates extra spaces', () => {
    const caps = parseCapabilities(ehlo('pipelining', ' size   5000 ', 'StartTLS'));
    expect([caps.pipelining, caps.size, caps.startTls]).toEqual([true, 5000, true]);
  });

  it('reads SIZE without a number, or with garbage, as "no fixed limit" (0)', () => {
    expect(parseCapabilities(ehlo('SIZE')).size).toBe(0);
    expect(parseCapabilities(ehlo('SIZE 0')).size).toBe(0);
    expect(parseCapabilities(ehlo('SIZE lots')).size).toBe(0);
    expect(parseCapabilities(ehlo('8BITMIME')).size).toBeNull();
  });

  it('gives nothing after a HELO fallback', () => {
    expect(HELO_CAPABILITIES.esmtp).toBe(false);
    expect(HELO_CAPABILITIES.size).toBeNull();
  });
});
