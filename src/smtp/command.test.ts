import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';
import { hasRoutingLocalPart, parseMailbox } from './address.js';
import { decodeXtext, encodeXtext } from './params.js';

function reply(line: string): string {
  const r = parseCommand(line);
  return r.ok ? 'ok' : `${r.reply.code} ${r.reply.status}`;
}

describe('command parsing', () => {
  it('parses MAIL with every parameter we advertise', () => {
    const r = parseCommand('MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1');
    expect(r.ok && r.command.verb === 'MAIL' && r.command.params).toMatchObject({ size: 1000, body: '8BITMIME', ret: 'HDRS', envid: 'QQ+1' });
  });

  it('accepts the null reverse path only for MAIL', () => {
    expect(reply('MAIL FROM:<>')).toBe('ok');
    expect(reply('RCPT TO:<>')).toBe('501 5.1.3');
  });

  it('parses NOTIFY and ORCPT per recipient', () => {
    const r = parseCommand('RCPT TO:<b@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40c.example');
    expect(r.ok && r.command.verb === 'RCPT' && r.command.params).toEqual({ notify: ['SUCCESS', 'FAILURE'], orcpt: { addrType: 'rfc822', address: 'b@c.example' } });
    expect(reply('RCPT TO:<b@c.example> NOTIFY=NEVER,SUCCESS')).toBe('501 5.5.4');
  });

  it.each([
    // AUTH= (RFC 4954 §5) parses; the session refuses it (555) where AUTH is not offered.
    ['MAIL FROM:<a@b.example> AUTH=<>', 'ok'],
    ['MAIL FROM:<a@b.example> AUTH=', '501 5.5.4'],
    ['MAIL FROM:<a@b.example> BODY=BINARYMIME', '555 5.5.4'],
    ['MAIL FROM:<a@b.example> SIZE=x', '501 5.5.4'],
    ['MAIL FROM:<a@b.example> SIZE=1 SIZE=2', '501 5.5.4'],
    ['MAIL FROM:a@b.example', '501 5.1.7'],
    ['MAIL TO:<a@b.example>', '501 5.5.4'],
    ['MAIL FROM:<ü@b.example>', '553 5.6.7'],
    ['MAIL FROM:<ü@b.example> SMTPUTF8', 'ok'],
    ['XEXCH50 2 2', '502 5.5.1'],
    ['X-LINK2STATE LAST CHUNK=1', '502 5.5.1'],
    ['X-EXPS GSSAPI', '502 5.5.1'],
    ['XCLIENT ADDR=1.2.3.4', '502 5.5.1'],
    ['TURN', '502 5.5.1'],
    ['ATRN example.com', '502 5.5.1'],
    ['ETRN example.com', '502 5.5.1'],
    ['BOGUS', '500 5.5.2'],
    ['EHLO', '501 5.5.4'],
    ['DATA x', '501 5.5.4'],
    ['BDAT', '501 5.5.4'],
    ['BDAT 10 LASTX', '501 5.5.4'],
    ['BDAT 10 last', 'ok'],
    ['VRFY', '501 5.5.4'],
    ['NOOP anything', 'ok'],
    ['QUIT now', '501 5.5.4'],
    ['MAIL FROM:<a@b.example>\u0000', '500 5.5.2'],
  ])('%s → %s', (line, expected) => {
    expect(reply(line)).toBe(expected);
  });
});

describe('addresses', () => {
  it('canonicalises the domain (case, IDN) and keeps the local part', () => {
    const m = parseMailbox('Bob.Smith@EXAMPLE.Com');
    expect(m.ok && m.value).toMatchObject({ local: 'Bob.Smith', domain: 'example.com' });
    const u = parseMailbox('a@bücher.example');
    expect(u.ok && u.value).toMatchObject({ domain: 'xn--bcher-kva.example', utf8: true });
  });

  it('drops a source route and keeps the final mailbox (RFC 5321 4.1.1.3)', () => {
    const r = parseCommand('RCPT TO:<@evil.example,@relay.example:bob@example.com>');
    expect(r.ok && r.command.verb === 'RCPT' && r.command.to.domain).toBe('example.com');
  });

  it.each(['a@example.com.', 'a@.example.com', 'a@exa mple.com', 'a.@example.com', '@example.com', 'a@', 'a@-x.com', 'a@[1.2.3]', `${'x'.repeat(65)}@example.com`])(
    'refuses %s',
    (a) => expect(parseMailbox(a).ok).toBe(false),
  );

  it('marks address literals and routed local parts', () => {
    const lit = parseMailbox('a@[127.0.0.1]');
    expect(lit.ok && lit.value.literal).toBe(true);
    expect(parseMailbox('a@[IPv6:::1]').ok).toBe(true);
    for (const a of ['user%evil.example@example.com', 'evil.example!user@example.com', '"user@evil.example"@example.com']) {
      const m = parseMailbox(a);
      expect(m.ok && hasRoutingLocalPart(m.value), a).toBe(true);
    }
  });
});

describe('xtext', () => {
  it('round-trips anything', () => {
    for (const s of ['plain', 'a+b=c', 'ü@x', 'sp ace']) expect(decodeXtext(encodeXtext(s))).toBe(s);
    expect(decodeXtext('bad+zz')).toBeNull();
  });
});

describe('ORCPT of type utf-8 (RFC 6533)', () => {
  it('decodes \\x{HEX} and raw UTF-8, and formats back with \\x{HEX}', async () => {
    const { formatOrcpt } = await import('./params.js');
    const r = parseCommand('RCPT TO:<j@example.test> ORCPT=utf-8;j\\x{FC}rgen@example.test');
    expect(r.ok && r.command.verb === 'RCPT' && r.command.params.orcpt).toEqual({ addrType: 'utf-8', address: 'jürgen@example.test' });
    expect(formatOrcpt({ addrType: 'utf-8', address: 'jürgen+x@example.test' })).toBe('utf-8;j\\x{FC}rgen\\x{2B}x@example.test');
    expect(reply('RCPT TO:<j@example.test> ORCPT=utf-8;bad\\x{D800}')).toBe('501 5.5.4');
  });
});
