/**
 * The DSN read by a third-party MIME parser: Python's email package (policy=default), run as a
 * child process. It must see a multipart/report with the three parts of RFC 3464 and parse the
 * delivery-status fields, with no defects.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { downstreamReply } from '../smtp/reply.js';
import { buildDsn } from './build-dsn.js';
import type { DsnInput } from './dsn-input.js';

const PYTHON = '/usr/bin/python3';

// Prints what the parser found as JSON. message/delivery-status is parsed by Python into one
// Message per field group; message/global-delivery-status is not known to it and is read as one
// message, so its body is split into the remaining groups, each parsed as a header block. Python reads raw UTF-8 header fields
// (RFC 6532) as surrogate escapes; u() turns them back into text.
const SCRIPT = String.raw`
import sys, json, email
from email import policy
def u(s):
    return str(s).encode('utf-8', 'surrogateescape').decode('utf-8')
def fields(block):
    return {k: u(v) for k, v in block.items()}
def defects(m):
    return [type(d).__name__ for d in m.defects]
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
out = {'type': m.get_content_type(), 'params': dict(m['content-type'].params), 'defects': defects(m),
       'date': m['date'].datetime.isoformat(), 'to': [u(a.addr_spec) for a in m['to'].addresses],
       'from': [a.addr_spec for a in m['from'].addresses], 'subject': u(m['subject']),
       'auto': str(m['auto-submitted']), 'parts': []}
for p in m.iter_parts():
    info = {'type': p.get_content_type(), 'defects': defects(p)}
    payload = p.get_payload()
    if p.get_content_type() == 'message/delivery-status':
        info['groups'] = [fields(b) for b in payload]
    elif p.get_content_type() == 'message/global-delivery-status':
        # Read as message/*: the first group is the headers, the other groups are its body.
        first = payload[0]
        rest = first.get_payload().replace('\r\n', '\n').strip('\n')
        info['groups'] = [fields(first)] + [fields(email.message_from_string(g + '\n', policy=policy.default)) for g in rest.split('\n\n') if g]
    elif p.get_content_maintype() == 'message':
        inner = payload[0] if isinstance(payload, list) else payload
        info['subject'] = u(inner['subject'])
        info['body'] = inner.get_content() if not inner.is_multipart() and inner.get_payload() else ''
    else:
        info['text'] = p.get_content()
    out['parts'].append(info)
print(json.dumps(out))
`;

interface Parsed {
  type: string;
  params: Record<string, string>;
  defects: string[];
  date: string;
  to: string[];
  from: string[];
  subject: string;
  auto: string;
  parts: { type: string; defects: string[]; groups?: Record<string, string>[]; text?: string; subject?: string; body?: string }[];
}

function parse(message: Buffer): Parsed {
  return JSON.parse(execFileSync(PYTHON, ['-c', SCRIPT], { input: message, encoding: 'utf8' })) as Parsed;
}

function dsnInput(over: Partial<DsnInput> = {}): DsnInput {
  let i = 7;
  return {
    reportingMta: 'mx.example.net',
    arrivalDate: new Date(Date.UTC(2024, 4, 1, 9, 0, 0)),
    now: new Date(Date.UTC(2024, 4, 1, 10, 30, 0)),
    originalSender: 'alice@example.org',
    envid: 'ENV-42',
    ret: 'FULL',
    original: Buffer.from('From: alice@example.org\r\nTo: bob@example.com\r\nSubject: Report Q1\r\n\r\nThe numbers.\r\n'),
    smtputf8: false,
    kind: 'failed',
    recipients: [
      {
        finalRecipient: 'bob@example.com',
        originalRecipient: { addrType: 'rfc822', address: 'Bob@Example.com' },
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'lan.example.com',
        diagnostic: downstreamReply(550, ['5.1.1 <bob@example.com>: Recipient address rejected:', `5.1.1 ${'see the directory '.repeat(12)}`]),
        lastAttempt: new Date(Date.UTC(2024, 4, 1, 10, 29, 0)),
        willRetryUntil: null,
      },
      {
        finalRecipient: 'carol@example.com',
        originalRecipient: null,
        action: 'delayed',
        status: '4.4.1',
        remoteMta: null,
        diagnostic: null,
        lastAttempt: null,
        willRetryUntil: new Date(Date.UTC(2024, 4, 6, 9, 0, 0)),
      },
    ],
    random: (n) => Buffer.alloc(n, i++),
    ...over,
  };
}

describe.skipIf(!existsSync(PYTHON))("Python's email package reads our DSN", () => {
  it('as a multipart/report with text, delivery-status and the returned message', () => {
    const p = parse(buildDsn(dsnInput()).message);
    expect(p.defects).toEqual([]);
    expect(p.type).toBe('multipart/report');
    expect(p.params['report-type']).toBe('delivery-status');
    expect(p.date).toBe('2024-05-01T10:30:00+00:00');
    expect(p.from).toEqual(['MAILER-DAEMON@mx.example.net']);
    expect(p.to).toEqual(['alice@example.org']);
    expect(p.subject).toBe('Undelivered Mail Returned to Sender');
    expect(p.auto).toBe('auto-replied');
    expect(p.parts.map((x) => x.type)).toEqual(['text/plain', 'message/delivery-status', 'message/rfc822']);
    for (const part of p.parts) expect(part.defects).toEqual([]);
    expect(p.parts[0]?.text).toContain('Recipient address rejected');
    expect(p.parts[2]?.subject).toBe('Report Q1');
    expect(p.parts[2]?.body).toBe('The numbers.\r\n');
  });

  it('with every delivery-status field parsed, folded ones unfolded', () => {
    const groups = parse(buildDsn(dsnInput()).message).parts[1]?.groups ?? [];
    expect(groups).toHaveLength(3);
    expect(groups[0]).toEqual({
      'Reporting-MTA': 'dns; mx.example.net',
      'Original-Envelope-Id': 'ENV-42',
      'Arrival-Date': 'Wed, 1 May 2024 09:00:00 +0000',
    });
    expect(groups[1]).toMatchObject({
      'Original-Recipient': 'rfc822; Bob@Example.com',
      'Final-Recipient': 'rfc822; bob@example.com',
      Action: 'failed',
      Status: '5.1.1',
      'Remote-MTA': 'dns; lan.example.com',
      'Last-Attempt-Date': 'Wed, 1 May 2024 10:29:00 +0000',
    });
    expect(groups[1]?.['Diagnostic-Code']).toBe(
      `smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: / ${'see the directory '.repeat(12).trim()}`,
    );
    expect(groups[2]).toEqual({
      'Final-Recipient': 'rfc822; carol@example.com',
      Action: 'delayed',
      Status: '4.4.1',
      'Will-Retry-Until': 'Mon, 6 May 2024 09:00:00 +0000',
    });
  });

  it('with the header-only return as text/rfc822-headers', () => {
    const p = parse(buildDsn(dsnInput({ ret: 'HDRS' })).message);
    expect(p.parts.map((x) => x.type)).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    expect(p.parts[2]?.text).toContain('Subject: Report Q1');
    expect(p.parts[2]?.text).not.toContain('The numbers.');
  });

  it('in its global (RFC 6533) form too', () => {
    const p = parse(
      buildDsn(
        dsnInput({
          smtputf8: true,
          originalSender: 'jürgen@example.org',
          original: Buffer.from('From: jürgen@example.org\r\nSubject: Grüße\r\n\r\nHallo\r\n'),
          ret: 'HDRS',
        }),
      ).message,
    );
    expect(p.defects).toEqual([]);
    expect(p.params['report-type']).toBe('global-delivery-status');
    expect(p.to).toEqual(['jürgen@example.org']);
    expect(p.parts.map((x) => x.type)).toEqual(['text/plain', 'message/global-delivery-status', 'message/global-headers']);
    expect(p.parts[1]?.groups?.[1]).toMatchObject({ 'Final-Recipient': 'rfc822; bob@example.com', Status: '5.1.1' });
    for (const part of p.parts) expect(part.defects).toEqual([]);
    expect(p.parts[2]?.subject).toBe('Grüße');
  });
});
