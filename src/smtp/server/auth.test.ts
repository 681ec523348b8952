/**
 * SMTP AUTH in the engine (RFC 4954) with a real client, swaks, against the engine alone: AUTH is
 * offered and accepted only under TLS (after STARTTLS, or on an implicit-TLS listener), PLAIN and
 * LOGIN decode to the credentials the handler sees, the handler's answer is sent as is, AUTH on a
 * plain connection is 538 5.7.11, and a listener that requires TLS refuses MAIL before it (530 5.7.0).
 */
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/harness/certs.js';
import { runSwaks } from '../../../test/harness/swaks.js';
import { startEngine, type Engine } from '../../../test/support/engine.js';
import { SmtpTalk } from '../../../test/support/smtp-talk.js';
import * as R from '../reply.js';
import { parseCommand } from '../command.js';
import { decodeBase64Text, parsePlain } from './sasl.js';

const check = (_m: string, c: { username: string; password: string }) => (c.username === 'bob' && c.password === 'pässword 1' ? R.authSucceeded() : R.authFailed());

describe('SMTP AUTH in the engine', () => {
  let context: SecureContext;
  let starttls: Engine;
  let implicit: Engine;
  let submission: Engine;

  beforeAll(async () => {
    const cert = await makeSelfSignedCert({ commonName: 'mx.engine.test' });
    context = createSecureContext({ cert: cert.cert, key: cert.key });
    starttls = await startEngine({ tls: context, authenticate: check, limits: { tarpit: { afterErrors: 100, delayMs: 0, maxDelayMs: 0 } } });
    implicit = await startEngine({ tls: context, implicitTls: true, authenticate: check });
    submission = await startEngine({ tls: context, requireTls: true, authenticate: check });
  });
  afterAll(async () => {
    await Promise.all([starttls?.stop(), implicit?.stop(), submission?.stop()]);
  });

  const swaks = (port: number, ...args: string[]) =>
    runSwaks(['--server', '127.0.0.1', '--port', String(port), '--helo', 'client.test', '--from', 'bob@lan.test', '--to', 'x@far.test', ...args]);

  it('accepts AUTH PLAIN after STARTTLS and hands the handler the decoded credentials', async () => {
    const r = await swaks(starttls.port, '--tls', '--auth', 'PLAIN', '--auth-user', 'bob', '--auth-password', 'pässword 1');
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    expect(starttls.auths.at(-1)).toEqual({ mechanism: 'PLAIN', username: 'bob', authzid: '' });
  });

  it('accepts AUTH LOGIN with its two prompts', async () => {
    const r = await swaks(starttls.port, '--tls', '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 'pässword 1');
    expect(r.replies).toContain('334 VXNlcm5hbWU6');
    expect(r.replies).toContain('334 UGFzc3dvcmQ6');
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
  });

  it('answers a wrong password with 535 5.7.8', async () => {
    const r = await swaks(starttls.port, '--tls', '--auth', 'PLAIN', '--auth-user', 'bob', '--auth-password', 'wrong');
    expect(r.replies).toContain('535 5.7.8 Authentication credentials invalid');
  });

  it('offers AUTH only under TLS and refuses it in plaintext with 538 5.7.11', async () => {
    const t = await SmtpTalk.open(starttls.port);
    try {
      expect((await t.reply())?.code).toBe(220);
      t.line('EHLO client.test');
      const ehlo = await t.reply();
      expect(ehlo?.lines.join('\n')).toMatch(/STARTTLS/);
      expect(ehlo?.lines.join('\n')).not.toMatch(/AUTH/);
      t.line(`AUTH PLAIN ${Buffer.from('\0bob\0pässword 1').toString('base64')}`);
      expect((await t.reply())?.lines[0]).toBe('538 5.7.11 Encryption required for requested authentication mechanism');
    } finally {
      t.close();
    }
    const after = await swaks(starttls.port, '--tls', '--quit-after', 'EHLO');
    expect(after.replies).toContain('250 AUTH PLAIN LOGIN');
  });

  it('speaks TLS from the first octet on an implicit-TLS listener (RFC 8314) and takes AUTH there', async () => {
    const r = await swaks(implicit.port, '--tls-on-connect', '--auth', 'PLAIN', '--auth-user', 'bob', '--auth-password', 'pässword 1');
    expect(r.stdout).toMatch(/TLS started/);
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
    expect(r.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
  });

  it('refuses MAIL before STARTTLS with 530 5.7.0 where TLS is required', async () => {
    const r = await swaks(submission.port);
    expect(r.replies).toContain('530 5.7.0 Must issue a STARTTLS command first');
    const ok = await swaks(submission.port, '--tls');
    expect(ok.replies.some((l) => l.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
  });

  it('decodes strictly: bad base64, a PLAIN message without two NULs, "*" cancels', () => {
    expect(decodeBase64Text('Ym9i')).toBe('bob');
    expect(decodeBase64Text('Ym9i=')).toBeNull();
    expect(decodeBase64Text('Ym 9i')).toBeNull();
    expect(parsePlain('\0bob\0pw')).toEqual({ authzid: '', username: 'bob', password: 'pw' });
    expect(parsePlain('bob\0pw')).toBeNull();
    expect(parsePlain('\0\0pw')).toBeNull();
    const c = parseCommand('auth plain AGJvYgBwdw==');
    expect(c.ok && c.command).toEqual({ verb: 'AUTH', mechanism: 'PLAIN', initial: 'AGJvYgBwdw==' });
  });

  it('ends the exchange on "*" with 501 and accepts nothing in the meantime', async () => {
    const plain = await SmtpTalk.open(starttls.port);
    await plain.reply();
    plain.line('EHLO client.test');
    await plain.reply();
    plain.line('STARTTLS');
    expect((await plain.reply())?.code).toBe(220);
    const secure = tlsConnect({ socket: plain.detach(), rejectUnauthorized: false });
    await new Promise((r) => secure.once('secureConnect', r));
    const s = SmtpTalk.wrap(secure);
    s.line('EHLO client.test');
    await s.reply();
    s.line('AUTH LOGIN');
    expect((await s.reply())?.lines[0]).toBe('334 VXNlcm5hbWU6');
    s.line('*');
    expect((await s.reply())?.code).toBe(501);
    s.line('AUTH PLAIN !!!');
    expect((await s.reply())?.lines[0]).toBe('501 5.5.2 Cannot decode the authentication response');
    s.close();
  });
});
