// Recipient verification against a real Postfix LAN server (test/harness/postfix.ts: virtual
// mailboxes; unknown users get "550 5.1.1 ... User unknown in virtual mailbox table"). Postfix
// logs every session's commands on disconnect ("ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1"), which
// proves how many probes were made and that none of them sent DATA. Needs root (Postfix master).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostfixLan, type PostfixLanHandle } from '../../../test/harness/postfix.js';
import { stopAll } from '../../../test/harness/process.js';
import { makeScratchDir, removeAllScratchDirs } from '../../../test/harness/tmp.js';
import { waitUntil } from '../../../test/harness/wait.js';
import { rcptFindings, symbols } from '../../../test/support/check-run.js';
import { systemClock } from '../../platform/clock.js';
import type { Check } from '../../pipeline/types.js';
import type { DomainConfig } from '../../relay/config.js';
import { SmtpRecipientProber } from '../../relay/verify.js';
import { connect } from '../../smtp/client/index.js';
import { SqliteStateStore } from '../../store/sqlite/state.js';
import { recipientsCheckSchema, recipientsDomainSchema } from './config.js';
import { recipientsCheck } from './index.js';

const isRoot = process.getuid?.() === 0;
const refuse = (): Promise<never> => Promise.reject(new Error('not used here'));

let state: SqliteStateStore;

function check(port: number, domain: Record<string, unknown> = {}): Check {
  const domains: Record<string, DomainConfig> = {
    'example.test': {
      relay: [`127.0.0.1:${port}`],
      tls: { policy: 'opportunistic', verify: false },
      recipients: recipientsDomainSchema.parse({ sources: [{ type: 'verify' }], ...domain }),
    },
  };
  const prober = new SmtpRecipientProber({
    domains: () => domains,
    connect: (hop, tls, signal) => connect({ host: hop.host, port: hop.port, heloName: 'mx.moat.test', tls: { policy: tls.policy, verify: tls.verify }, timeouts: { connect: 5000, greeting: 5000, command: 5000 } }, signal),
  });
  return recipientsCheck(recipientsCheckSchema.parse({}), domains, { state, directory: { exists: refuse, close: refuse }, prober, readText: refuse });
}

/** The command summaries Postfix logged at the end of each session that sent MAIL (not the harness's banner probes). */
const sessions = (pf: PostfixLanHandle): string[] => pf.log().filter((l) => / disconnect from .* mail=/.test(l));

beforeAll(async () => {
  const dir = await makeScratchDir('moat-verify-pf-');
  state = new SqliteStateStore(join(dir, 'state.db'), systemClock);
});
afterAll(async () => {
  await state?.close();
  await stopAll();
  await removeAllScratchDirs();
});

describe.skipIf(!isRoot)('verification against a Postfix LAN server', () => {
  let pf: PostfixLanHandle;
  beforeAll(async () => {
    pf = await startPostfixLan({ domain: 'example.test', mailboxes: ['bob', 'carol'] });
  });

  it('hit, miss, and both cached: one probe each, none with DATA, nothing delivered', async () => {
    const c = check(pf.port);
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    const miss = await rcptFindings(c, 'mallory@example.test');
    expect(symbols(miss)).toEqual(['RCPT_USER_UNKNOWN']);
    expect(miss[0]?.detail).toMatch(/550 5\.1\.1 .*User unknown in virtual mailbox table/);
    const probes = await waitUntil(() => (sessions(pf).length >= 2 ? sessions(pf) : undefined), { timeoutMs: 10_000, what: 'two sessions in the Postfix log' });
    expect(probes).toHaveLength(2);
    for (const s of probes) {
      expect(s).toMatch(/ mail=1 rcpt=(1|0\/1) rset=1 quit=1 /);
      expect(s).not.toMatch(/data=/);
    }
    expect(await state.get('recipients:verify:bob@example.test')).toBe('1');
    expect(await state.get('recipients:verify:mallory@example.test')).toBe('0');
    expect(await rcptFindings(c, 'BOB@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'mallory@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    // A sentinel probe: once its refusal is logged, a second probe of mallory would have been too
    // (smtpd logs a refusal before it replies, and the log keeps the order).
    expect(symbols(await rcptFindings(c, 'sentinel@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    await waitUntil(() => pf.log().some((l) => /NOQUEUE: reject: RCPT .*<sentinel@example\.test>/.test(l)), { timeoutMs: 10_000, what: 'the sentinel refusal in the log' });
    expect(pf.log().filter((l) => /NOQUEUE: reject: RCPT .*<mallory@example\.test>/.test(l))).toHaveLength(1);
    expect(await pf.maildir('bob')).toEqual([]);
    expect(await pf.queueSize()).toBe(0);
  });

  it('Postfix down: defers, or accepts with onUnavailable: accept', async () => {
    await pf.stop();
    expect(symbols(await rcptFindings(check(pf.port), 'carol@example.test'))).toEqual(['RCPT_UNVERIFIED']);
    expect(symbols(await rcptFindings(check(pf.port, { onUnavailable: 'accept' }), 'carol@example.test'))).toEqual(['RCPT_UNVERIFIED_ACCEPTED']);
  });
});

describe.skipIf(!isRoot)('verification against a Postfix that refuses the probe sender', () => {
  it('a refused MAIL FROM:<> means "cannot tell", never "unknown"', async () => {
    const pf = await startPostfixLan({
      domain: 'example.test',
      mailboxes: ['bob'],
      extraMain: { smtpd_delay_reject: 'no', smtpd_sender_restrictions: 'check_sender_access inline:{<>=REJECT}' },
    });
    try {
      const f = await rcptFindings(check(pf.port), 'stranger@example.test');
      expect(symbols(f)).toEqual(['RCPT_UNVERIFIED']);
      expect(f[0]?.detail).toMatch(/MAIL refused: .*5\.7\.1/);
    } finally {
      await pf.stop();
    }
  });
});
