import { describe, expect, it } from 'vitest';
import { downstreamReply } from '../../smtp/reply.js';
import type { ProbeOutcome } from './ports.js';
import type { Answer } from './source.js';
import { classifyProbe, ProbeGate } from './verify.js';

const r = (line: string): ReturnType<typeof downstreamReply> => downstreamReply(Number(line.slice(0, 3)), [line.slice(4)]);
const answered = (rcpt: string | null, mail = '250 2.1.0 Ok'): ProbeOutcome => ({ kind: 'answered', host: '10.0.0.5:25', mail: r(mail), rcpt: rcpt === null ? null : r(rcpt) });
const kind = (o: ProbeOutcome): Answer['kind'] => classifyProbe(o).kind;

describe('what a probe reply says', () => {
  it('2xx exists; a 5xx about the mailbox does not', () => {
    expect(kind(answered('250 2.1.5 Ok'))).toBe('found');
    expect(kind(answered('550 5.1.1 <x@example.test>: Recipient address rejected: User unknown in virtual mailbox table'))).toBe('unknown');
    expect(kind(answered('550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'))).toBe('unknown');
    expect(kind(answered('550 5.2.1 Mailbox disabled'))).toBe('unknown');
    expect(kind(answered('550 No such user'))).toBe('unknown');
    expect(kind(answered('553 sorry, that domain isn\'t in my list of allowed rcpthosts'))).toBe('unknown');
  });

  it('cannot tell from a 4xx, a refused MAIL, a policy 5xx, 552 or no answer', () => {
    expect(kind(answered('450 4.1.1 <x>: Recipient address rejected: unverified address'))).toBe('unavailable');
    expect(kind(answered('451 4.3.0 Try again later'))).toBe('unavailable');
    expect(kind(answered(null, '501 Syntax: MAIL FROM: <address>'))).toBe('unavailable');
    expect(kind(answered('550 5.7.1 Unable to relay'))).toBe('unavailable');
    expect(kind(answered('554 5.7.1 Client host rejected'))).toBe('unavailable');
    expect(kind(answered('552 5.5.3 Too many recipients'))).toBe('unavailable');
    expect(kind(answered('554 Transaction failed'))).toBe('unavailable');
    expect(kind({ kind: 'unreachable', problem: '10.0.0.5:25: CONNECT_FAILED' })).toBe('unavailable');
  });

  it('keeps the LAN reply for the logs', () => {
    expect(classifyProbe(answered('550 5.1.1 User unknown')).detail).toBe('10.0.0.5:25 said 550 5.1.1 User unknown');
  });
});

describe('ProbeGate', () => {
  const deferred = (): { promise: Promise<Answer>; resolve: (a: Answer) => void } => {
    let resolve: (a: Answer) => void = () => undefined;
    const promise = new Promise<Answer>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  };
  const found: Answer = { kind: 'found', detail: 'x' };

  it('shares one probe among concurrent lookups of one address', async () => {
    const gate = new ProbeGate(4);
    const d = deferred();
    let calls = 0;
    const probe = (): Promise<Answer> => {
      calls++;
      return d.promise;
    };
    const all = Promise.all(Array.from({ length: 10 }, () => gate.run('k', probe, AbortSignal.timeout(5000))));
    d.resolve(found);
    expect((await all).every((a) => a.kind === 'found')).toBe(true);
    expect(calls).toBe(1);
    // Once settled, a new lookup probes again (the cache, not the gate, remembers answers).
    await gate.run('k', () => Promise.resolve(found), AbortSignal.timeout(5000));
  });

  it('runs at most max probes at once; the others wait their turn or their deadline', async () => {
    const gate = new ProbeGate(2);
    const pending = Array.from({ length: 5 }, () => deferred());
    let peak = 0;
    const runs = pending.map((d, i) =>
      gate.run(`k${i}`, () => {
        peak = Math.max(peak, gate.running);
        return d.promise;
      }, AbortSignal.timeout(5000)),
    );
    const late = gate.run('late', () => Promise.resolve(found), AbortSignal.timeout(50));
    await expect(late).rejects.toThrow(/deadline passed while waiting/);
    for (const d of pending) d.resolve(found);
    await Promise.all(runs);
    expect(peak).toBe(2);
    expect(gate.running).toBe(0);
  });
});
