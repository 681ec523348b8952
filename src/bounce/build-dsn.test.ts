import { describe, expect, it } from 'vitest';
import { formatOrcpt, parseRcptParams } from '../smtp/params.js';
import { downstreamReply } from '../smtp/reply.js';
import { buildDsn, buildDsnChunks, headerBlock } from './build-dsn.js';
import { DsnInputError, type DsnInput, type DsnRecipient } from './dsn-input.js';

const ORIGINAL = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: Lunch\r\nMessage-ID: <m1@example.org>\r\n\r\n' +
    'Shall we meet at noon?\r\nBODY-MARKER\r\n',
);

/** A counter as the random source: each call fills its bytes with the next number. */
function counter(): (n: number) => Buffer {
  let i = 0;
  return (n) => Buffer.alloc(n, i++);
}

function recipient(over: Partial<DsnRecipient> = {}): DsnRecipient {
  return {
    finalRecipient: 'bob@example.com',
    originalRecipient: null,
    action: 'failed',
    status: '5.1.1',
    remoteMta: '10.0.0.5',
    diagnostic: downstreamReply(550, ['5.1.1 User unknown']),
    lastAttempt: new Date(Date.UTC(2024, 0, 2, 3, 0, 0)),
    willRetryUntil: null,
    ...over,
  };
}

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mx.example.net',
    arrivalDate: new Date(Date.UTC(2024, 0, 2, 2, 0, 0)),
    now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    originalSender: 'alice@example.org',
    envid: null,
    ret: null,
    original: ORIGINAL,
    smtputf8: false,
    kind: 'failed',
    recipients: [recipient()],
    random: counter(),
    ...over,
  };
}

interface Part { readonly head: string; readonly body: string }

/** A deliberately simple reader of what we write: header, boundary, three parts. */
function read(message: Buffer): { head: string; parts: Part[]; boundary: string } {
  const text = message.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split + 2);
  const boundary = /boundary="([^"]+)"/.exec(head)?.[1] ?? '';
  const segments = text.slice(split + 4).split(`\r\n--${boundary}`);
  expect(segments.at(-1)).toBe('--\r\n');
  const parts = segments.slice(1, -1).map((s) => {
    const at = s.indexOf('\r\n\r\n');
    return { head: s.slice(2, at + 2), body: s.slice(at + 4) };
  });
  return { head, parts, boundary };
}

const field = (text: string, name: string): string | undefined =>
  new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'mi').exec(text)?.[1]?.replace(/\r\n(?=[ \t])/g, '');

describe('buildDsn structure (RFC 3464, RFC 6522)', () => {
  it('is a multipart/report from the null reverse path to the original sender', () => {
    const dsn = buildDsn(input());
    expect(dsn.from).toBe('');
    expect(dsn.to).toBe('alice@example.org');
    const { head, parts } = read(dsn.message);
    expect(field(head, 'From')).toBe('Mail Delivery System <MAILER-DAEMON@mx.example.net>');
    expect(field(head, 'To')).toBe('<alice@example.org>');
    expect(field(head, 'Subject')).toBe('Undelivered Mail Returned to Sender');
    expect(field(head, 'Date')).toBe('Tue, 2 Jan 2024 03:04:05 +0000');
    expect(field(head, 'Message-ID')).toMatch(/^<[0-9a-z]+\.[0-9a-f]{16}@mx\.example\.net>$/);
    expect(field(head, 'MIME-Version')).toBe('1.0');
    expect(field(head, 'Auto-Submitted')).toBe('auto-replied');
    expect(field(head, 'Content-Type')).toMatch(/^multipart\/report; report-type=delivery-status; boundary="=_moat_[0-9a-f]{32}"$/);
    expect(parts.map((p) => field(p.head, 'Content-Type'))).toEqual([
      'text/plain; charset=us-ascii', 'message/delivery-status', 'text/rfc822-headers',
    ]);
    expect(head).not.toContain('Content-Transfer-Encoding');
  });

  it('writes only CRLF lines of at most 998 octets, even for a huge multi-line reply', () => {
    const long = ['5.1.1 ' + 'x'.repeat(3000), ...Array.from({ length: 50 }, (_, i) => `5.1.1 line ${i} ${'y '.repeat(200)}`)];
    const { message } = buildDsn(input({ recipients: [recipient({ diagnostic: downstreamReply(550, long) })] }));
    const text = message.toString('utf8');
    expect(text).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(998);
  });

  it('puts the per-message and per-recipient fields in the report', () => {
    const { parts } = read(buildDsn(input({ envid: 'QQ314159' })).message);
    const [perMessage, perRecipient] = (parts[1]?.body ?? '').split('\r\n\r\n');
    expect(field(perMessage ?? '', 'Reporting-MTA')).toBe('dns; mx.example.net');
    expect(field(perMessage ?? '', 'Original-Envelope-Id')).toBe('QQ314159');
    expect(field(perMessage ?? '', 'Arrival-Date')).toBe('Tue, 2 Jan 2024 02:00:00 +0000');
    expect(field(perRecipient ?? '', 'Final-Recipient')).toBe('rfc822; bob@example.com');
    expect(field(perRecipient ?? '', 'Action')).toBe('failed');
    expect(field(perRecipient ?? '', 'Status')).toBe('5.1.1');
    expect(field(perRecipient ?? '', 'Remote-MTA')).toBe('dns; 10.0.0.5');
    expect(field(perRecipient ?? '', 'Diagnostic-Code')).toBe('smtp; 550 5.1.1 User unknown');
    expect(field(perRecipient ?? '', 'Last-Attempt-Date')).toBe('Tue, 2 Jan 2024 03:00:00 +0000');
    expect(field(perRecipient ?? '', 'Original-Recipient')).toBeUndefined();
    expect(field(perRecipient ?? '', 'Will-Retry-Until')).toBeUndefined();
  });

  it('leaves Original-Envelope-Id out without an ENVID', () => {
    expect(buildDsn(input()).message.toString()).not.toContain('Original-Envelope-Id');
  });

  it('tells the human the reply, without our internal host names', () => {
    const human = (read(buildDsn(input()).message).parts[0]?.body ?? '').replace(/\r\n */g, ' ');
    expect(human).toContain('<bob@example.com> could not be delivered (5.1.1: Bad destination mailbox address)');
    expect(human).toContain('550 5.1.1 User unknown');
    expect(human).not.toContain('10.0.0.5');
  });

  it('keeps a reply that tries to inject header lines on one field', () => {
    const evil = downstreamReply(550, ['5.1.1 no such user\r\nBcc: victim@example.com\x1b[31m']);
    const text = buildDsn(input({ recipients: [recipient({ diagnostic: evil })] })).message.toString();
    expect(text).not.toMatch(/^Bcc:/m);
    expect(text).not.toContain('\x1b');
    expect(text).toContain('Diagnostic-Code: smtp; 550 5.1.1 no such user??Bcc: victim@example.com?[31m');
  });

  it('folds a long Diagnostic-Code and it unfolds to the whole reply', () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const { parts } = read(buildDsn(input({ recipients: [recipient({ diagnostic: downstreamReply(550, [`5.7.1 ${words}`]) })] })).message);
    const status = parts[1]?.body ?? '';
    expect(status).toMatch(/^Diagnostic-Code: .*\r\n /m);
    expect(field(status, 'Diagnostic-Code')).toBe(`smtp; 550 5.7.1 ${words}`);
  });
});

describe('returned content (RFC 3461 §4.3)', () => {
  it('HDRS (and no RET) returns the header block, cut at its end', () => {
    for (const ret of ['HDRS', null] as const) {
      const { parts } = read(buildDsn(input({ ret })).message);
      expect(parts[2]?.body).toBe(headerBlock(ORIGINAL).toString());
      expect(parts[2]?.body.endsWith('Message-ID: <m1@example.org>\r\n')).toBe(true);
      expect(parts[2]?.body).not.toContain('BODY-MARKER');
    }
  });

  it('FULL returns the whole message, byte for byte, as message/rfc822', () => {
    const { message } = buildDsn(input({ ret: 'FULL' }));
    const { parts } = read(message);
    expect(field(parts[2]?.head ?? '', 'Content-Type')).toBe('message/rfc822');
    expect(parts[2]?.body).toBe(ORIGINAL.toString());
    expect(message.indexOf(ORIGINAL)).toBeGreaterThan(0);
  });

  it('FULL in a delay notice still returns only the header', () => {
    const { parts } = read(buildDsn(input({ ret: 'FULL', kind: 'delayed', recipients: [recipient({ action: 'delayed', status: '4.4.1' })] })).message);
    expect(field(parts[2]?.head ?? '', 'Content-Type')).toBe('text/rfc822-headers');
  });

  it('ends a returned original without a final CRLF properly', () => {
    const { parts } = read(buildDsn(input({ ret: 'FULL', original: Buffer.from('Subject: x\r\n\r\nno newline') })).message);
    expect(parts[2]?.body).toBe('Subject: x\r\n\r\nno newline\r\n');
  });

  it('hands the original out by reference, not as a copy', () => {
    const dsn = buildDsnChunks(input({ ret: 'FULL' }));
    expect(dsn.chunks[1]?.buffer).toBe(ORIGINAL.buffer);
    expect(dsn.size).toBe(buildDsn(input({ ret: 'FULL' })).message.length);
    expect(dsn.eightBit).toBe(false);
  });

  it('finds the header block of odd messages', () => {
    expect(headerBlock(Buffer.from('\r\nbody only')).length).toBe(0);
    expect(headerBlock(Buffer.from('Subject: x\r\n')).toString()).toBe('Subject: x\r\n');
    expect(headerBlock(Buffer.from('Subject: x\nTo: y\n\nbody\r\n\r\nmore')).toString()).toBe('Subject: x\nTo: y\n');
  });
});

describe('ORCPT (RFC 3461 §4.2, RFC 6533 §3)', () => {
  it('round-trips an xtext ORCPT into Original-Recipient and back', () => {
    const param = 'rfc822;bob+2Bextra@example.com';
    const parsed = parseRcptParams(`ORCPT=${param}`);
    if (!parsed.ok || !parsed.value.orcpt) throw new Error('ORCPT did not parse');
    const { parts } = read(buildDsn(input({ recipients: [recipient({ originalRecipient: parsed.value.orcpt })] })).message);
    const value = field(parts[1]?.body ?? '', 'Original-Recipient') ?? '';
    expect(value).toBe('rfc822; bob+extra@example.com');
    const [addrType, address] = value.split('; ');
    expect(formatOrcpt({ addrType: addrType ?? '', address: address ?? '' })).toBe(param);
  });

  it('writes a non-ASCII ORCPT as utf-8-addr-xtext in an ASCII report, raw in a global one', () => {
    const orcpt = { addrType: 'utf-8', address: 'jürgen@example.com' };
    const ascii = read(buildDsn(input({ recipients: [recipient({ originalRecipient: orcpt })] })).message);
    expect(field(ascii.parts[1]?.body ?? '', 'Original-Recipient')).toBe('utf-8; j\\x{FC}rgen@example.com');
    const global = read(buildDsn(input({ smtputf8: true, recipients: [recipient({ originalRecipient: orcpt })] })).message);
    expect(field(global.parts[1]?.body ?? '', 'Original-Recipient')).toBe('utf-8; jürgen@example.com');
  });

  it('never lets a decoded ORCPT break the field', () => {
    const orcpt = { addrType: 'rfc822', address: 'a\r\nAction: delivered@example.com' };
    const { parts } = read(buildDsn(input({ recipients: [recipient({ originalRecipient: orcpt })] })).message);
    expect(field(parts[1]?.body ?? '', 'Original-Recipient')).toBe('utf-8; a\\x{D}\\x{A}Action:\\x{20}delivered@example.com');
    expect(parts[1]?.body.match(/^Action:/gm)).toHaveLength(1);
  });
});

describe('delay notices', () => {
  it('says until when we keep trying, in the text and in Will-Retry-Until', () => {
    const until = new Date(Date.UTC(2024, 0, 7, 2, 0, 0));
    const r = recipient({ action: 'delayed', status: '4.4.1', diagnostic: downstreamReply(421, ['4.4.1 No answer']), willRetryUntil: until });
    const { head, parts } = read(buildDsn(input({ kind: 'delayed', recipients: [r] })).message);
    expect(field(head, 'Subject')).toBe('Delayed Mail (still being retried)');
    expect(parts[0]?.body.replace(/\r\n */g, ' ')).toContain('will keep trying until Sun, 7 Jan 2024 02:00:00 +0000');
    const status = parts[1]?.body ?? '';
    expect(field(status, 'Action')).toBe('delayed');
    expect(field(status, 'Status')).toBe('4.4.1');
    expect(field(status, 'Will-Retry-Until')).toBe('Sun, 7 Jan 2024 02:00:00 +0000');
    expect(field(status, 'Diagnostic-Code')).toBe('smtp; 421 4.4.1 No answer');
  });

  it('names success notices as such', () => {
    const r = recipient({ action: 'relayed', status: '2.0.0', diagnostic: null, remoteMta: null });
    const { head, parts } = read(buildDsn(input({ kind: 'relayed', recipients: [r] })).message);
    expect(field(head, 'Subject')).toBe('Successful Mail Delivery Report');
    expect(parts[1]?.body).not.toContain('Remote-MTA');
    expect(parts[1]?.body).not.toContain('Diagnostic-Code');
  });

  it('reports a recipient expanded by a list in a success notice', () => {
    const r = recipient({ action: 'expanded', status: '2.0.0', diagnostic: null });
    const { head, parts } = read(buildDsn(input({ kind: 'delivered', recipients: [r] })).message);
    expect(field(head, 'Subject')).toBe('Successful Mail Delivery Report');
    expect(field(parts[1]?.body ?? '', 'Action')).toBe('expanded');
    expect(parts[0]?.body.replace(/\r\n */g, ' ')).toContain('was delivered to a mailing list or forwarding address');
  });
});

describe('SMTPUTF8 originals (RFC 6533)', () => {
  it('uses the global types, utf-8 addresses and declares 8bit', () => {
    const original = Buffer.from('From: 用户@例子.测试\r\nSubject: Grüße\r\n\r\nHallo\r\n');
    const r = recipient({ finalRecipient: 'jürgen@example.com', diagnostic: downstreamReply(550, ['5.1.1 Unbekannt: jürgen']) });
    const { message } = buildDsn(input({ smtputf8: true, original, originalSender: '用户@例子.测试', recipients: [r], ret: 'FULL' }));
    const { head, parts } = read(message);
    expect(field(head, 'Content-Type')).toMatch(/^multipart\/report; report-type=global-delivery-status;/);
    expect(field(head, 'Content-Transfer-Encoding')).toBe('8bit');
    expect(field(head, 'To')).toBe('<用户@例子.测试>');
    expect(parts.map((p) => field(p.head, 'Content-Type'))).toEqual(['text/plain; charset=utf-8', 'message/global-delivery-status', 'message/global']);
    expect(field(parts[1]?.body ?? '', 'Final-Recipient')).toBe('utf-8; jürgen@example.com');
    expect(field(parts[1]?.body ?? '', 'Diagnostic-Code')).toBe('smtp; 550 5.1.1 Unbekannt: jürgen');
    expect(parts[2]?.body).toBe(original.toString());
  });

  it('returns the header of a global original as message/global-headers', () => {
    const { parts } = read(buildDsn(input({ smtputf8: true })).message);
    expect(field(parts[2]?.head ?? '', 'Content-Type')).toBe('message/global-headers');
  });
});

describe('boundary and determinism', () => {
  it('is the same message for the same input and random source', () => {
    expect(buildDsn(input({ random: counter() })).message.equals(buildDsn(input({ random: counter() })).message)).toBe(true);
  });

  it('picks another boundary when the original contains the first one', () => {
    const clash = Buffer.concat([ORIGINAL, Buffer.from(`--=_moat_${'00'.repeat(16)}\r\n`)]);
    const { boundary } = read(buildDsn(input({ ret: 'FULL', original: clash })).message);
    expect(boundary).toBe(`=_moat_${'01'.repeat(16)}`);
  });
});

describe('refused input', () => {
  it('never builds a DSN for the null reverse path', () => {
    expect(() => buildDsn(input({ originalSender: '' }))).toThrow(DsnInputError);
  });
  it('accepts a quoted local part with spaces as the sender', () => {
    expect(field(read(buildDsn(input({ originalSender: '"a  b"@example.org' })).message).head, 'To')).toBe('<"a  b"@example.org>');
  });
  it('refuses a sender that would break the To field, no recipients, a bad host or status', () => {
    expect(() => buildDsn(input({ originalSender: 'a\r\nBcc: x@y' }))).toThrow(DsnInputError);
    expect(() => buildDsn(input({ recipients: [] }))).toThrow(DsnInputError);
    expect(() => buildDsn(input({ reportingMta: 'mx example' }))).toThrow(DsnInputError);
    expect(() => buildDsn(input({ recipients: [recipient({ status: '9.9.9' as never })] }))).toThrow(DsnInputError);
  });
});
