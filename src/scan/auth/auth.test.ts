// DKIM, DMARC and ARC at end of data against a real dnsmasq: keys made here (RSA and Ed25519) and
// published as TXT, DMARC records as TXT _dmarc.domain, messages signed and sealed with mailauth's
// own signer; DNS failures from the scripted server. Client and SPF come from the `spf` fact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as packet from 'dns-packet';
import { replyTo, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs, type DnsmasqHandle, type ScriptedDns } from '../../../test/harness/index.js';
import { context, mailbox, NO_PARAMS, resolverFor, session } from '../../../test/support/check-context.js';
import { ed25519Key, message, rsaKey, seal, sign, type TestKey } from '../../../test/support/dkim-keys.js';
import { policySchema } from '../../pipeline/config.js';
import { messageView } from '../../pipeline/message.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { SpfResult } from '../../pipeline/types.js';
import { systemClock } from '../../platform/clock.js';
import type { Resolver } from '../../platform/dns/index.js';
import { replyToString } from '../../smtp/reply.js';
import { authCheck, authSchema } from './index.js';

let dns: DnsmasqHandle;
const scripted: ScriptedDns[] = [];
const rsa = rsaKey();
const ed = ed25519Key();
const short = rsaKey(1024);
const list = rsaKey();

beforeAll(async () => {
  const key = (name: string, k: TestKey) => ({ name, text: k.record });
  dns = await startDnsmasq({
    txt: [
      key('sel1._domainkey.reject.test', rsa),
      key('ed1._domainkey.reject.test', ed),
      key('short._domainkey.reject.test', short),
      key('sel1._domainkey.mail.strict.test', rsa),
      key('sel1._domainkey.mail.relaxed.test', rsa),
      key('arc._domainkey.lists.test', list),
      { name: '_dmarc.reject.test', text: 'v=DMARC1; p=reject' },
      { name: '_dmarc.quar.test', text: 'v=DMARC1; p=quarantine' },
      { name: '_dmarc.none.test', text: 'v=DMARC1; p=none' },
      { name: '_dmarc.strict.test', text: 'v=DMARC1; p=reject; adkim=s; aspf=s' },
      { name: '_dmarc.relaxed.test', text: 'v=DMARC1; p=reject' },
      { name: '_dmarc.org.test', text: 'v=DMARC1; p=reject; sp=none' },
      { name: '_dmarc.half.test', text: 'v=DMARC1; p=reject; pct=50' },
    ],
  });
});

afterAll(async () => {
  for (const s of scripted) await s.stop();
  await stopAll();
  await removeAllScratchDirs();
});

interface ScanOptions {
  readonly resolver?: Resolver;
  readonly spf?: { readonly result: SpfResult; readonly domain: string };
  readonly config?: Record<string, unknown>;
  readonly random?: () => number;
  /** Octets the view holds (the scan limit); the stream always gives all. */
  readonly limit?: number;
}

async function scan(raw: string, o: ScanOptions = {}) {
  const buf = Buffer.from(raw);
  const view = messageView(buf.subarray(0, o.limit ?? buf.length), buf.length, async function* () {
    yield buf;
  });
  const ctx = { ...context(), from: null, recipients: [] };
  if (o.spf) ctx.tx.spf = o.spf;
  const check = authCheck(authSchema.parse(o.config ?? {}), { resolver: o.resolver ?? resolverFor(dns.server), clock: systemClock }, o.random);
  const findings = (await check.open(session()).data?.(view, ctx, AbortSignal.timeout(20_000))) ?? [];
  return { findings, symbols: findings.map((f) => f.symbol), ar: ctx.tx.authResults, detail: (s: string) => findings.find((f) => f.symbol === s)?.detail ?? '' };
}

describe('DKIM', () => {
  it('verifies RSA and Ed25519 signatures and lists each d= and s= once', async () => {
    const signed = await sign(await sign(message({ from: 'alice@reject.test' }), 'reject.test', 'sel1', rsa), 'reject.test', 'ed1', ed);
    const r = await scan(signed);
    expect(r.symbols).toEqual(['DKIM_VALID', 'DMARC_PASS', 'ARC_NONE']);
    expect(r.detail('DKIM_VALID')).toBe('d=reject.test s=ed1, d=reject.test s=sel1');
    expect(r.ar[0]).toMatch(/^dkim=pass header\.d=reject\.test header\.s=ed1 header\.b="?[A-Za-z0-9+/]{8}"?$/);
    expect(r.ar[1]).toMatch(/^dkim=pass header\.d=reject\.test header\.s=sel1 header\.b=/);
    expect(r.ar.slice(2)).toEqual(['dmarc=pass (p=reject) header.from=reject.test', 'arc=none']);
  });

  it('fails a changed body, a missing key and a key shorter than minKeyBits', async () => {
    const tampered = (await sign(message({ from: 'alice@none.test', body: 'Pay 10 EUR\r\n' }), 'reject.test', 'sel1', rsa)).replace('Pay 10 EUR', 'Pay 99 EUR');
    const bad = await scan(tampered);
    expect(bad.ar[0]).toBe('dkim=fail (body hash did not verify) header.d=reject.test header.s=sel1');
    expect(bad.symbols).toContain('DKIM_INVALID');
    expect(bad.symbols).not.toContain('DKIM_VALID');
    const nokey = await scan(await sign(message({ from: 'alice@none.test' }), 'reject.test', 'gone', rsa));
    expect(nokey.ar[0]).toBe('dkim=permerror (no key) header.d=reject.test header.s=gone');
    const weak = await scan(await sign(message({ from: 'alice@none.test' }), 'reject.test', 'short', short), { config: { dkim: { minKeyBits: 2048 } } });
    expect(weak.ar[0]).toMatch(/^dkim=policy .*header\.d=reject\.test header\.s=short/);
    expect(weak.symbols).toContain('DKIM_INVALID');
  });

  it('reads the whole message from the stream when the view is cut by the scan limit', async () => {
    const body = `${'x'.repeat(70)}\r\n`.repeat(2000);
    const signed = await sign(message({ from: 'alice@reject.test', body }), 'reject.test', 'sel1', rsa);
    const r = await scan(signed, { limit: 4096 });
    expect(r.ar[0]).toBe('dkim=pass header.d=reject.test header.s=sel1');
    expect(r.symbols).toContain('DMARC_PASS');
  });

  it('reports an unsigned message as DKIM_NONE and dkim=none', async () => {
    const r = await scan(message({ from: 'alice@nowhere.test' }));
    expect(r.symbols).toEqual(['DKIM_NONE', 'DMARC_NONE', 'ARC_NONE']);
    expect(r.ar).toEqual(['dkim=none', 'dmarc=none header.from=nowhere.test', 'arc=none']);
  });
});

describe('DMARC', () => {
  it('passes on an aligned SPF pass alone', async () => {
    const r = await scan(message({ from: 'alice@reject.test' }), { spf: { result: 'pass', domain: 'reject.test' } });
    expect(r.symbols).toContain('DMARC_PASS');
    expect(r.detail('DMARC_PASS')).toBe('reject.test: aligned spf reject.test');
  });

  it('maps a forged From to the published policy: reject, quarantine, none', async () => {
    const spf = { result: 'pass' as const, domain: 'evil.test' };
    const reject = await scan(message({ from: 'ceo@reject.test' }), { spf });
    expect(reject.symbols).toContain('DMARC_FAIL_REJECT');
    expect(reject.ar).toContain('dmarc=fail (p=reject) header.from=reject.test');
    expect((await scan(message({ from: 'a@quar.test' }), { spf })).symbols).toContain('DMARC_FAIL_QUARANTINE');
    expect((await scan(message({ from: 'a@none.test' }), { spf })).symbols).toContain('DMARC_FAIL_NONE');
  });

  it('enforces adkim=s (mailauth alone would pass a subdomain signature)', async () => {
    const strict = await scan(await sign(message({ from: 'alice@strict.test' }), 'mail.strict.test', 'sel1', rsa));
    expect(strict.symbols).toEqual(['DKIM_VALID', 'DMARC_FAIL_REJECT', 'ARC_NONE']);
    expect(strict.detail('DMARC_FAIL_REJECT')).toMatch(/dkim passed unaligned \(adkim=s\)/);
    const relaxed = await scan(await sign(message({ from: 'alice@relaxed.test' }), 'mail.relaxed.test', 'sel1', rsa));
    expect(relaxed.symbols).toContain('DMARC_PASS');
  });

  it('applies sp= to subdomains found through the organizational record (RFC 7489 §6.3)', async () => {
    expect((await scan(message({ from: 'a@sub.org.test' }))).symbols).toContain('DMARC_FAIL_NONE');
    expect((await scan(message({ from: 'a@org.test' }))).symbols).toContain('DMARC_FAIL_REJECT');
  });

  it('samples pct=50: inside the sample reject, outside the next lower policy (RFC 7489 §6.6.4)', async () => {
    expect((await scan(message({ from: 'a@half.test' }), { random: () => 0.2 })).symbols).toContain('DMARC_FAIL_REJECT');
    const out = await scan(message({ from: 'a@half.test' }), { random: () => 0.7 });
    expect(out.symbols).toContain('DMARC_FAIL_QUARANTINE');
    expect(out.detail('DMARC_FAIL_QUARANTINE')).toMatch(/pct=50: not sampled, quarantine applied/);
  });

  it('does not apply reject for a domain in overrideDomains, and says so', async () => {
    const r = await scan(message({ from: 'ceo@reject.test' }), { config: { dmarc: { overrideDomains: ['reject.test'] } } });
    expect(r.symbols).toContain('DMARC_FAIL_NONE');
    expect(r.detail('DMARC_FAIL_NONE')).toMatch(/local override: From domain listed in checks\.auth\.dmarc\.overrideDomains/);
    expect(r.ar).toContain('dmarc=fail (p=reject; local override) header.from=reject.test');
  });

  it('checks every From: domain and reports the strictest (a second address cannot hide p=reject)', async () => {
    const r = await scan(message({ from: 'a@none.test, b@reject.test' }));
    expect(r.symbols).toContain('DMARC_FAIL_REJECT');
    expect(r.ar.filter((x) => x.startsWith('dmarc='))).toEqual(['dmarc=fail (p=none) header.from=none.test', 'dmarc=fail (p=reject) header.from=reject.test']);
  });
});

describe('ARC', () => {
  // A list that rewrites the subject (breaking the author's DKIM) and seals what it saw.
  async function viaList(): Promise<string> {
    const signed = await sign(message({ from: 'alice@reject.test', subject: 'agenda' }), 'reject.test', 'sel1', rsa);
    return seal(signed.replace('Subject: agenda', 'Subject: [team] agenda'), 'lists.test', 'arc', list, 'lists.test; dkim=pass header.d=reject.test; dmarc=pass header.from=reject.test');
  }

  it('validates a chain, and a trusted sealer overrides the DMARC reject', async () => {
    const m = await viaList();
    const untrusted = await scan(m);
    expect(untrusted.symbols).toEqual(['DKIM_INVALID', 'DMARC_FAIL_REJECT', 'ARC_PASS']);
    expect(untrusted.ar.at(-1)).toBe('arc=pass');
    const trusted = await scan(m, { config: { arc: { trustedSealers: ['lists.test'] } } });
    expect(trusted.symbols).toEqual(['DKIM_INVALID', 'DMARC_FAIL_NONE', 'ARC_PASS']);
    expect(trusted.detail('DMARC_FAIL_NONE')).toMatch(/valid ARC chain sealed by trusted lists\.test \(i=1/);
  });

  it('fails a chain whose message changed after the seal, and then no sealer overrides anything', async () => {
    const m = (await viaList()).replace('Hello world', 'Hello w0rld');
    const r = await scan(m, { config: { arc: { trustedSealers: ['lists.test'] } } });
    expect(r.symbols).toEqual(['DKIM_INVALID', 'DMARC_FAIL_REJECT', 'ARC_FAIL']);
    expect(r.ar.at(-1)).toMatch(/^arc=fail/);
  });
});

describe('DNS failures are transient, never a reject or quarantine', () => {
  it('SERVFAIL for everything: DKIM, DMARC and ARC temperror', async () => {
    const fail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    scripted.push(fail);
    const m = await seal(await sign(message({ from: 'alice@reject.test' }), 'reject.test', 'sel1', rsa), 'lists.test', 'arc', list, 'lists.test; none');
    const r = await scan(m, { resolver: resolverFor(fail.server), config: { arc: { trustedSealers: ['lists.test'] } } });
    expect(r.findings).toEqual([
      expect.objectContaining({ symbol: 'DKIM_TEMPERROR', transient: true }),
      expect.objectContaining({ symbol: 'DMARC_TEMPERROR', transient: true }),
      expect.objectContaining({ symbol: 'ARC_TEMPERROR', transient: true }),
    ]);
    expect(r.ar).toEqual(['dkim=temperror (DNS failure: ESERVFAIL) header.d=reject.test header.s=sel1', 'dmarc=temperror header.from=reject.test', 'arc=temperror (DNS failure)']);
  });

  it('a p=reject failure that an aligned signature lost to DNS could have passed is temperror', async () => {
    // The DMARC record answers; the DKIM key lookups fail.
    const half = await startScriptedDns((q) => {
      const name = q.questions?.[0]?.name ?? '';
      if (name === '_dmarc.reject.test') return [replyTo(q, { answers: [{ type: 'TXT', name, ttl: 0, data: 'v=DMARC1; p=reject' } as packet.Answer] })];
      return [replyTo(q, { rcode: 'SERVFAIL' })];
    });
    scripted.push(half);
    const signed = await sign(message({ from: 'alice@reject.test' }), 'reject.test', 'sel1', rsa);
    const r = await scan(signed, { resolver: resolverFor(half.server), spf: { result: 'fail', domain: 'reject.test' } });
    expect(r.symbols).toEqual(['DKIM_TEMPERROR', 'DMARC_TEMPERROR', 'ARC_NONE']);
    expect(r.detail('DMARC_TEMPERROR')).toMatch(/an aligned check could not be done/);
    // A signature of another domain that could not be checked changes nothing: still a reject.
    const other = await sign(message({ from: 'alice@reject.test' }), 'slow.test', 'sel1', rsa);
    expect((await scan(other, { resolver: resolverFor(half.server) })).symbols).toContain('DMARC_FAIL_REJECT');
  });
});

describe('through the pipeline', () => {
  const entries = (resolver: Resolver) => [{ check: authCheck(authSchema.parse({}), { resolver, clock: systemClock }), observe: false, failOpen: false }];
  const view = (raw: string) => messageView(Buffer.from(raw), Buffer.byteLength(raw), async function* () {});

  it('rejects p=reject with 550 5.7.1 naming the domain, quarantines p=quarantine, scores the rest', async () => {
    const checks = entries(resolverFor(dns.server));
    const policy = createPolicy(checks, policySchema.parse({}));
    const verdict = async (raw: string) => {
      const p = new PipelineSession({ checks, policy, isLocal: () => true }, session());
      await p.mailFrom(mailbox('x@evil.test'), NO_PARAMS, AbortSignal.timeout(10_000));
      return p.data(view(raw), { from: mailbox('x@evil.test'), recipients: [mailbox('bob@example.test')] }, AbortSignal.timeout(20_000));
    };
    const rejected = await verdict(message({ from: 'ceo@reject.test' }));
    expect(rejected.action).toBe('reject');
    expect(replyToString(decisionReply(policy, 'reject', rejected.decidedBy, 'data'))).toBe('550 5.7.1 Message rejected: it fails the DMARC policy of reject.test');
    expect((await verdict(message({ from: 'a@quar.test' }))).action).toBe('quarantine');
    expect((await verdict(message({ from: 'a@none.test' }))).action).toBe('accept');
  });

  it('defers, never rejects, a spammy message when DNS fails (the auth check could have lowered the score)', async () => {
    const fail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    scripted.push(fail);
    const checks = entries(resolverFor(fail.server));
    const policy = createPolicy(checks, policySchema.parse({ actions: { reject: 0.5 }, symbols: { DMARC_TEMPERROR: { score: 1 } } }));
    const p = new PipelineSession({ checks, policy, isLocal: () => true }, session());
    const v = await p.data(view(message({ from: 'ceo@reject.test' })), { from: null, recipients: [] }, AbortSignal.timeout(20_000));
    expect(v.action).toBe('defer');
  });
});
