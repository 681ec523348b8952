// The urls check: the site grammar of its zones, the link signs on built messages, and URI
// blocklist lookups against a real dnsmasq (listed domain, IP literal, filtered answer, refusal)
// plus the scripted server and a black hole for SERVFAIL and timeouts (transient, never a reject).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyTo, startBlackHoleDns, startDnsmasq, startScriptedDns, stopAll, removeAllScratchDirs, type DnsmasqHandle } from '../../../test/harness/index.js';
import { context, resolverFor, session } from '../../../test/support/check-context.js';
import { messageView, type MessageView } from '../../pipeline/message.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import { policySchema } from '../../pipeline/config.js';
import type { Finding } from '../../pipeline/types.js';
import type { Resolver } from '../../platform/dns/index.js';
import { urlsCheck, urlsSchema } from './index.js';
import { parseFilter, parseZone, parseZones } from './zones.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'));
const HEAD = 'From: a@example.org\nTo: b@example.com\nSubject: s\nDate: Mon, 2 Jun 2025 10:00:00 +0000\nMessage-ID: <x@example.org>\nMIME-Version: 1.0\n';
const view = (raw: Buffer): MessageView => messageView(raw, raw.length, async function* () {});
const htmlMessage = (body: string): MessageView => view(crlf(`${HEAD}Content-Type: text/html; charset=utf-8\n\n${body}\n`));
const textMessage = (body: string): MessageView => view(crlf(`${HEAD}Content-Type: text/plain; charset=utf-8\n\n${body}\n`));
const NO_DNS: Resolver = new Proxy({} as Resolver, { get: () => () => Promise.reject(new Error('no DNS in this test')) });

async function findings(m: MessageView, config: Record<string, unknown> = {}, resolver: Resolver = NO_DNS, signal = AbortSignal.timeout(10_000)): Promise<Finding[]> {
  const run = urlsCheck(urlsSchema.parse(config), { resolver }).open(session());
  const f = await run.data?.(m, { ...context(), from: null, recipients: [] }, signal);
  return f ?? [];
}
const symbolsOf = (f: readonly Finding[]): string[] => f.map((x) => x.symbol).sort();

describe('URI blocklist zones', () => {
  it('parses postscreen site syntax with a score', () => {
    expect(parseZone('multi.surbl.org=127.0.0.[2..255]*4')).toEqual({
      ok: true,
      value: { zone: 'multi.surbl.org', filter: [[[127, 127]], [[0, 0]], [[0, 0]], [[2, 255]]], filterText: '127.0.0.[2..255]', score: 4, symbol: 'URIBL_MULTI_SURBL_ORG', domains: true, ips: true },
    });
    expect(parseZone({ zone: 'dbl.spamhaus.org=127.0.1.[2..99]', name: 'URIBL_DBL', score: 2.5, ips: false })).toMatchObject({ ok: true, value: { symbol: 'URIBL_DBL', score: 2.5, ips: false } });
    expect(parseFilter('[127.0.0.[2;4;8]]')).toEqual({ ok: true, value: [[[127, 127]], [[0, 0]], [[0, 0]], [[2, 2], [4, 4], [8, 8]]] });
  });

  it('refuses bad zones with precise errors, and the config names the entry', () => {
    expect(parseZone('multi.surbl.org=127.0.0.[9..2]')).toEqual({ ok: false, error: '"multi.surbl.org=127.0.0.[9..2]": bad filter: numeric range error: 9..2 is empty (start > end) at "127.0.0.[9..>2<]"' });
    expect(parseZone('localhost')).toMatchObject({ ok: false });
    expect(parseZone('x.example*lots')).toMatchObject({ ok: false, error: '"x.example*lots": score "lots" is not a number' });
    expect(parseZone({ zone: 'x.example', name: 'URL_TEXT_MISMATCH' })).toMatchObject({ ok: false });
    expect(parseZones(['a.example', 'a.example'])).toMatchObject({ ok: false, errors: [{ index: 1 }] });
    const r = urlsSchema.safeParse({ zones: ['ok.example', 'bad.example=1.2.3'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['zones', 1]);
  });
});

describe('link signs', () => {
  it('finds a link whose text names another site (URL_TEXT_MISMATCH), not one whose text is prose or the same site', async () => {
    const f = await findings(
      htmlMessage(
        '<a href="https://secure-login.evil.example/x">https://www.paypal.com/signin</a> <a href="https://www.paypal.com/help">www.paypal.com</a> <a href="https://a.example/">Click here for paypal.com offers</a>',
      ),
    );
    expect(f).toContainEqual({ symbol: 'URL_TEXT_MISMATCH', detail: 'text names paypal.com, link goes to evil.example' });
    // A forged From: paypal.com changes nothing: the link does not go there.
    const forged = crlf(`${HEAD.replace('From: a@example.org', 'From: service@paypal.com')}Content-Type: text/html\n\n<a href="https://secure-login.evil.example/x">https://www.paypal.com/signin</a>\n`);
    expect(symbolsOf(await findings(view(forged)))).toEqual(['URL_TEXT_MISMATCH']);
    expect(f.filter((x) => x.symbol === 'URL_TEXT_MISMATCH')).toHaveLength(1);
  });

  it('takes only forms that ask for credentials as HTML_FORM_REMOTE', async () => {
    const search = await findings(htmlMessage('<form action="https://search.example/q"><input name=q><input type=submit></form>'));
    expect(symbolsOf(search)).toEqual([]);
    const card = await findings(htmlMessage('<form action="https://pay.example/x"><input name=cardnumber><input name=cvv></form>'));
    expect(card).toEqual([{ symbol: 'HTML_FORM_REMOTE', detail: 'pay.example' }]);
  });

  it('lets links to the From: domain pass: a newsletter\'s own click counter', async () => {
    const raw = crlf(`${HEAD.replace('From: a@example.org', 'From: News <news@unitedmedia.com>')}Content-Type: text/html\n\n<a href="http://click.unitedmedia.com/r?x=1">www.dilbert.com</a>\n`);
    expect(symbolsOf(await findings(view(raw)))).toEqual([]);
  });

  it('lets a click tracker that carries the shown site pass', async () => {
    const f = await findings(htmlMessage('<a href="https://click.tracker.example/r?u=https%3A%2F%2Fwww.shop.com%2Fsale">www.shop.com</a>'));
    expect(symbolsOf(f)).not.toContain('URL_TEXT_MISMATCH');
  });

  it('finds IP literals, obfuscations, userinfo, shorteners, remote forms and homographs', async () => {
    const f = await findings(
      htmlMessage(
        `<a href="http://3232235777/login">x</a> <a href="https://www.bank.com@evil.example/">y</a> <a href="https://bit.ly/abc">z</a>
         <form action="https://collect.example/steal"><input name=user><input type=password name=p></form> <a href="https://xn--pypal-4ve.com/">paypal</a>`,
      ),
    );
    expect(symbolsOf(f)).toEqual(['HTML_FORM_REMOTE', 'URL_IDN_MIXED_SCRIPT', 'URL_IP_LITERAL', 'URL_OBFUSCATED', 'URL_SHORTENER', 'URL_USERINFO']);
    expect(f).toContainEqual({ symbol: 'URL_IDN_MIXED_SCRIPT', detail: 'pаypal: mixes Cyrillic and Latin' });
    expect(f).toContainEqual({ symbol: 'URL_USERINFO', detail: 'www.bank.com@evil.example' });
    expect(f).toContainEqual({ symbol: 'URL_OBFUSCATED', detail: '192.168.1.1 (ip-encoded)' });
  });

  it('finds a whole-script Cyrillic lookalike under .com but not a Cyrillic name under .рф', async () => {
    // аррӏе.com (Cyrillic а, р, р, ӏ, е) and пример.рф
    const f = await findings(textMessage('https://xn--80ak6aa92e.com/ and https://xn--e1afmkfd.xn--p1ai/'));
    expect(f).toEqual([{ symbol: 'URL_IDN_MIXED_SCRIPT', detail: 'аррӏе: Cyrillic letters that look Latin' }]);
  });

  it('counts distinct domains (URL_MANY_DOMAINS) and finds nothing in a plain message', async () => {
    const many = await findings(textMessage(Array.from({ length: 5 }, (_, i) => `https://site${i}.example/`).join('\n')), { manyDomains: 5 });
    expect(many).toEqual([{ symbol: 'URL_MANY_DOMAINS', detail: '5 distinct domains' }]);
    expect(await findings(textMessage(Array.from({ length: 4 }, (_, i) => `https://site${i}.example/`).join('\n')), { manyDomains: 5 })).toEqual([]);
    expect(await findings(textMessage('Hello, the minutes are at https://wiki.example.org/minutes and www.example.com.'))).toEqual([]);
  });
});

describe('URI blocklists against dnsmasq', () => {
  let dns: DnsmasqHandle;
  const ZONES = ['multi.uribl.test=127.0.0.[2..8]*4', { zone: 'dbl.uribl.test', name: 'URIBL_DBL', score: 2, ips: false }];

  beforeAll(async () => {
    dns = await startDnsmasq({
      addresses: [
        { name: 'evil-domain.com.multi.uribl.test', address: '127.0.0.4' },
        { name: 'evil-domain.com.dbl.uribl.test', address: '127.0.1.2' },
        { name: '7.2.0.192.multi.uribl.test', address: '127.0.0.2' },
        { name: 'filtered.com.multi.uribl.test', address: '127.0.0.64' },
        { name: 'refused.com.multi.uribl.test', address: '127.255.255.254' },
      ],
      localSuffixes: ['test'],
    });
  });
  afterAll(async () => {
    await stopAll();
    await removeAllScratchDirs();
  });

  it('finds a listed registrable domain in every zone that lists it, once per zone', async () => {
    const m = htmlMessage('<a href="https://www.evil-domain.com/a">a</a> <a href="https://mail.evil-domain.com/b">b</a> <img src="https://cdn.clean.com/p.png">');
    const f = await findings(m, { zones: ZONES }, resolverFor(dns.server));
    expect(f).toEqual([
      { symbol: 'URIBL_MULTI_URIBL_TEST', detail: 'evil-domain.com (127.0.0.4)' },
      { symbol: 'URIBL_DBL', detail: 'evil-domain.com (127.0.1.2)' },
    ]);
  });

  it('asks about IP literals reversed, only in zones that take IPs', async () => {
    const f = await findings(textMessage('http://192.0.2.7/x'), { zones: ZONES }, resolverFor(dns.server));
    expect(symbolsOf(f)).toEqual(['URIBL_MULTI_URIBL_TEST', 'URL_IP_LITERAL']);
  });

  it('ignores answers outside the filter, and reports refusal answers as URIBL_BLOCKED', async () => {
    const f = await findings(textMessage('https://filtered.com/ https://refused.com/'), { zones: ZONES }, resolverFor(dns.server));
    expect(f).toEqual([{ symbol: 'URIBL_BLOCKED', detail: 'multi.uribl.test refuses our queries (127.255.255.254)' }]);
  });

  it('scores a listing through the policy, with the zone score', async () => {
    const check = urlsCheck(urlsSchema.parse({ zones: ZONES }), { resolver: resolverFor(dns.server) });
    const entries = [{ check, observe: false, failOpen: false }];
    const p = new PipelineSession({ checks: entries, policy: createPolicy(entries, policySchema.parse({})), isLocal: () => true }, session());
    const v = await p.data(htmlMessage('<a href="https://evil-domain.com/">x</a>'), { from: null, recipients: [] }, AbortSignal.timeout(10_000));
    expect(v.findings.map((x) => [x.symbol, x.score])).toEqual([
      ['URIBL_MULTI_URIBL_TEST', 4],
      ['URIBL_DBL', 2],
    ]);
  });

  it('gives a transient URIBL_ERROR with score 0 on SERVFAIL and on a timeout, never a reject', async () => {
    const servfail = await startScriptedDns((q) => [replyTo(q, { rcode: 'SERVFAIL' })]);
    const hole = await startBlackHoleDns();
    try {
      for (const resolver of [resolverFor(servfail.server), resolverFor(hole.server, '300ms')]) {
        const f = await findings(textMessage('https://evil-domain.com/'), { zones: ['multi.uribl.test'] }, resolver);
        expect(f).toHaveLength(1);
        expect(f[0]).toMatchObject({ symbol: 'URIBL_ERROR', transient: true });
        expect(f[0]?.detail).toMatch(/^multi\.uribl\.test: (SERVFAIL|TIMEOUT) for 1 of 1 queries$/);
      }
      const check = urlsCheck(urlsSchema.parse({ zones: ['multi.uribl.test*20'] }), { resolver: resolverFor(servfail.server) });
      const entries = [{ check, observe: false, failOpen: false }];
      const p = new PipelineSession({ checks: entries, policy: createPolicy(entries, policySchema.parse({})), isLocal: () => true }, session());
      const v = await p.data(textMessage('https://evil-domain.com/'), { from: null, recipients: [] }, AbortSignal.timeout(10_000));
      expect(v.action).toBe('accept');
      expect(v.score).toBe(0);
    } finally {
      await servfail.stop();
      await hole.stop();
    }
  });

  it('asks at most maxLookups names, skips shorteners, and one name once', async () => {
    const scripted = await startScriptedDns((q) => [replyTo(q, { rcode: 'NXDOMAIN' })]);
    try {
      const body = ['https://bit.ly/x', 'https://a.one.com/', 'https://b.one.com/', ...Array.from({ length: 8 }, (_, i) => `https://d${i}.com/`)].join('\n');
      await findings(textMessage(body), { zones: ['multi.uribl.test'], maxLookups: 4 }, resolverFor(scripted.server));
      const names = scripted.queries.map((q) => q.decoded?.questions?.[0]?.name);
      expect(names).toEqual(['one.com.multi.uribl.test', 'd0.com.multi.uribl.test', 'd1.com.multi.uribl.test', 'd2.com.multi.uribl.test']);
    } finally {
      await scripted.stop();
    }
  });
});
