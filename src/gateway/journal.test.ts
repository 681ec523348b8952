import { describe, expect, it } from 'vitest';
import type { Profile, ScoredFinding } from '../pipeline/policy.js';
import type { PhaseOutcome } from '../pipeline/runner.js';
import { messageView } from '../pipeline/message.js';
import type { SessionFacts } from '../pipeline/types.js';
import * as R from '../smtp/reply.js';
import type { TransactionEntry } from '../store/message-log.js';
import { TransactionTrail } from './journal.js';

const profile: Profile = { id: 'default', thresholds: { tag: 5, quarantine: 8, reject: 15 }, subjectTag: null, score: () => ({ score: 0, action: null }) };
const clock = { now: () => 1_000, setTimer: () => ({ cancel: () => undefined }) };

function finding(symbol: string, phase: ScoredFinding['phase'], score = 0, action: ScoredFinding['action'] = null): ScoredFinding {
  return { check: 'test', phase, symbol, detail: `detail of ${symbol}`, score, action, observed: false, transient: false, description: `about ${symbol}` };
}
const ok = (findings: ScoredFinding[] = []): PhaseOutcome => ({ kind: 'continue', findings });
const no = (kind: 'reject' | 'defer', f: ScoredFinding): PhaseOutcome => ({ kind, findings: [f], because: f });

function trail(facts: SessionFacts = {}): { t: TransactionTrail; entries: TransactionEntry[] } {
  const entries: TransactionEntry[] = [];
  const t = new TransactionTrail({ id: 'sess1', remoteAddress: '192.0.2.1', remotePort: 4000, localAddress: '127.0.0.1', localPort: 25 }, { transaction: (e) => entries.push(e) }, clock, facts);
  return { t, entries };
}

describe('TransactionTrail', () => {
  it('records every RCPT with its reply and the end-of-data verdict under the queue id', () => {
    const { t, entries } = trail({ rdns: { name: 'mail.sender.example', confirmed: true } });
    t.heloName('mail.sender.example');
    t.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    t.mail('alice@sender.example');
    t.outcome('mailFrom', ok([finding('SENDER_OWN_DOMAIN_OUTSIDE', 'mailFrom', 2)]), null, profile);
    t.rcpt('x@elsewhere.example');
    t.outcome('rcptTo', no('reject', finding('RCPT_NOT_LOCAL', 'rcptTo', 0, 'reject')), R.relayDenied(), profile);
    t.rcpt('bob@example.test');
    t.outcome('rcptTo', ok(), null, profile);
    t.data('QID1');
    t.content(42, messageView(Buffer.from('Subject: =?ISO-8859-1?Q?caf=E9?=\r\nMessage-ID: <1@x>\r\n\r\nhi\r\n'), 42, async function* () {}));
    const verdict = { action: 'accept' as const, score: 2, thresholds: profile.thresholds, findings: [finding('SENDER_OWN_DOMAIN_OUTSIDE', 'mailFrom', 2)], reason: 'score 2 below every threshold', decidedBy: null, profile: 'default' };
    t.finished(R.queued('QID1'), verdict, null, 1.5);
    t.reset(); // the engine resets after end of data: nothing more is recorded
    t.close();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toEqual({
      time: 1_000,
      queueId: 'QID1',
      sessionId: 'sess1',
      client: { ip: '192.0.2.1', port: 4000, ptr: 'mail.sender.example', helo: 'mail.sender.example', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384' },
      sender: 'alice@sender.example',
      mailReply: { code: 250, status: '2.1.0', text: 'Ok' },
      recipients: [
        { address: 'x@elsewhere.example', accepted: false, reply: { code: 554, status: '5.7.1', text: 'Relay access denied' }, symbol: 'RCPT_NOT_LOCAL' },
        { address: 'bob@example.test', accepted: true, reply: { code: 250, status: '2.1.5', text: 'Ok' }, symbol: null },
      ],
      subject: 'café',
      messageId: '<1@x>',
      size: 42,
      phase: 'data',
      action: 'accept',
      verdict: {
        score: 2,
        thresholds: { tag: 5, quarantine: 8, reject: 15 },
        profile: 'default',
        reason: 'score 2 below every threshold',
        findings: [{ symbol: 'SENDER_OWN_DOMAIN_OUTSIDE', check: 'test', phase: 'mailFrom', score: 2, detail: 'detail of SENDER_OWN_DOMAIN_OUTSIDE', description: 'about SENDER_OWN_DOMAIN_OUTSIDE', observed: false }],
      },
      reply: { code: 250, status: '2.0.0', text: 'Ok: queued as QID1' },
      scanMs: 1.5,
    });
  });

  it('ends a transaction whose every recipient was refused with the refusal, a defer before a reject', () => {
    const { t, entries } = trail();
    t.heloName('h');
    t.mail('a@b.example');
    t.outcome('mailFrom', ok(), null, profile);
    t.rcpt('one@example.test');
    t.outcome('rcptTo', no('defer', finding('GREYLIST', 'rcptTo', 0, 'defer')), R.greylisted(), profile);
    t.rcpt('two@elsewhere.example');
    t.outcome('rcptTo', no('reject', finding('RCPT_NOT_LOCAL', 'rcptTo', 0, 'reject')), R.relayDenied(), profile);
    t.close();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ queueId: 'sess1.1', phase: 'rcptTo', action: 'defer', reply: { code: 451, status: '4.7.1' }, size: null, subject: null });
    expect(entries[0]?.verdict.findings.map((f) => f.symbol)).toEqual(['GREYLIST', 'RCPT_NOT_LOCAL']);
    expect(entries[0]?.verdict.reason).toBe('symbol GREYLIST: defer');
  });

  it('records an abandoned transaction (RSET) and numbers the next one on', () => {
    const { t, entries } = trail();
    t.mail('a@b.example');
    t.outcome('mailFrom', ok(), null, profile);
    t.rcpt('one@example.test');
    t.outcome('rcptTo', ok(), null, profile);
    t.reset();
    t.mail('c@d.example');
    t.outcome('mailFrom', no('reject', finding('SENDER_DENYLISTED', 'mailFrom', 0, 'reject')), R.policyRejected(), profile);
    t.close();
    expect(entries.map((e) => [e.queueId, e.action, e.phase, e.reply?.code ?? null])).toEqual([
      ['sess1.1', 'abandoned', 'rcptTo', null],
      ['sess1.2', 'reject', 'mailFrom', 550],
    ]);
    expect(entries[1]?.mailReply).toEqual({ code: 550, status: '5.7.1', text: 'Message rejected by policy' });
  });

  it('makes an entry without a sender for a refusal at connect, and keeps only the last HELO\'s findings', () => {
    const { t, entries } = trail();
    t.outcome('connect', ok([finding('DNSBL_X', 'connect', 3)]), null, profile);
    t.heloName('first');
    t.outcome('helo', ok([finding('HELO_BARE_IP', 'helo', 1)]), null, profile);
    t.heloName('second');
    t.outcome('helo', no('reject', finding('HELO_OURS', 'helo', 0, 'reject')), R.policyRejected(), profile);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ sender: null, recipients: [], phase: 'helo', action: 'reject', queueId: 'sess1.1', client: { helo: 'second' } });
    expect(entries[0]?.verdict.findings.map((f) => f.symbol)).toEqual(['DNSBL_X', 'HELO_OURS']);
    expect(entries[0]?.verdict.score).toBe(3);
  });

  it('records content the engine refused with the engine\'s reply, and a client gone during DATA as abandoned', () => {
    const { t, entries } = trail();
    t.mail('a@b.example');
    t.outcome('mailFrom', ok(), null, profile);
    t.rcpt('one@example.test');
    t.outcome('rcptTo', ok(), null, profile);
    t.data('QID2');
    t.aborted(R.sizeExceeded());
    t.reset();
    t.mail('a@b.example');
    t.outcome('mailFrom', ok(), null, profile);
    t.rcpt('one@example.test');
    t.outcome('rcptTo', ok(), null, profile);
    t.data('QID3');
    t.aborted();
    t.close();
    expect(entries.map((e) => [e.queueId, e.action, e.phase, e.reply?.code ?? null])).toEqual([
      ['QID2', 'reject', 'data', 552],
      ['QID3', 'abandoned', 'data', null],
    ]);
  });
});
