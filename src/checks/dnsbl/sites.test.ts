import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { dnsblSchema } from './config.js';
import { buildSites, derivedSymbol, matchesFilter, parseFilter, parseSite, type Filter } from './sites.js';
import { queryName } from './index.js';

function site(text: string) {
  const r = parseSite(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function filter(text: string): Filter {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function error(text: string): string {
  const r = parseSite(text);
  if (r.ok) throw new Error(`${text} parsed`);
  return r.error;
}

describe('postscreen_dnsbl_sites grammar', () => {
  it('parses domain, filter and weight, with weight 1 and no filter by default', () => {
    expect(site('b.barracudacentral.org*2')).toEqual({ zone: 'b.barracudacentral.org', filter: null, filterText: null, weight: 2 });
    expect(site('bl.example=127.0.0.2')).toMatchObject({ zone: 'bl.example', filterText: '127.0.0.2', weight: 1, filter: [[[127, 127]], [[0, 0]], [[0, 0]], [[2, 2]]] });
    expect(site('Zen.Spamhaus.ORG.=127.0.0.[2..11]*3')).toMatchObject({ zone: 'zen.spamhaus.org', weight: 3, filter: [[[127, 127]], [[0, 0]], [[0, 0]], [[2, 11]]] });
    expect(site('list.dnswl.org=127.0.[0..255].[1..3]*-2')).toMatchObject({ weight: -2, filter: [[[127, 127]], [[0, 0]], [[0, 255]], [[1, 3]]] });
    expect(site('wl.mailspike.net=127.0.0.[17;18]*+1')).toMatchObject({ weight: 1, filter: [[[127, 127]], [[0, 0]], [[0, 0]], [[17, 17], [18, 18]]] });
  });

  it('takes lists mixing numbers and ranges, and a pattern wrapped whole in brackets (as Postfix does)', () => {
    expect(filter('127.0.[2..15].[0;2..3;10]')).toEqual([[[127, 127]], [[0, 0]], [[2, 15]], [[0, 0], [2, 3], [10, 10]]]);
    expect(filter('[127.0.0.2]')).toEqual([[[127, 127]], [[0, 0]], [[0, 0]], [[2, 2]]]);
    expect(filter('[1;2].0.0.1')).toEqual([[[1, 1], [2, 2]], [[0, 0]], [[0, 0]], [[1, 1]]]);
  });

  it('matches answers field by field', () => {
    const f = filter('127.0.[0..255].[1..3]');
    expect(matchesFilter(f, '127.0.15.1')).toBe(true);
    expect(matchesFilter(f, '127.0.0.3')).toBe(true);
    expect(matchesFilter(f, '127.0.15.0')).toBe(false);
    expect(matchesFilter(f, '127.1.0.1')).toBe(false);
    expect(matchesFilter(filter('127.0.0.[2;4]'), '127.0.0.3')).toBe(false);
    expect(matchesFilter(filter('127.0.0.[2;4]'), '127.0.0.4')).toBe(true);
  });

  it('refuses bad filters with the place of the error marked', () => {
    expect(parseFilter('127.0.0.[5..2]')).toEqual({ ok: false, error: 'numeric range error: 5..2 is empty (start > end) at "127.0.0.[5..>2<]"' });
    expect(parseFilter('127.0.0.256')).toEqual({ ok: false, error: 'number 256 is out of range 0..255 at "127.0.0.>2<56"' });
    expect(parseFilter('127.0.0')).toEqual({ ok: false, error: 'too few fields (need 4) at "127.0.0><"' });
    expect(parseFilter('127.0.0.2.1')).toEqual({ ok: false, error: 'garbage after pattern at "127.0.0.2>.<1"' });
    expect(parseFilter('127.0.0.[2,3]')).toEqual({ ok: false, error: 'need ";" or "]" at "127.0.0.[2>,<3]"' });
    expect(parseFilter('127.0.0.[2..]')).toEqual({ ok: false, error: 'numeric range error: need a number after ".." at "127.0.0.[2..>]<"' });
    expect(parseFilter('127.0.0.x')).toEqual({ ok: false, error: 'need a decimal number 0..255 or "[" at "127.0.0.>x<"' });
    expect(parseFilter('127.0.0.[]')).toEqual({ ok: false, error: 'need a decimal number 0..255 at "127.0.0.[>]<"' });
    expect(parseFilter('127.0.0.2[3]')).toEqual({ ok: false, error: 'garbage after pattern at "127.0.0.2>[<3]"' });
    expect(parseFilter('[127.0.0.2')).toEqual({ ok: false, error: 'missing "]"' });
    expect(parseFilter('')).toEqual({ ok: false, error: 'empty address pattern' });
  });

  it('refuses bad weights and domains, naming the site', () => {
    expect(error('zen.spamhaus.org*x')).toBe('"zen.spamhaus.org*x": weight "x" is not an integer');
    expect(error('zen.spamhaus.org*1.5')).toBe('"zen.spamhaus.org*1.5": weight "1.5" is not an integer');
    expect(error('zen.spamhaus.org*')).toBe('"zen.spamhaus.org*": weight "" is not an integer');
    expect(error('zen.spamhaus.org*5000')).toBe('"zen.spamhaus.org*5000": weight 5000 is outside -1000..1000');
    expect(error('zen..org')).toBe('"zen..org": DNSBL domain "zen..org" has an invalid label "" (letters, digits, "-", "_"; at most 63)');
    expect(error('localhost*2')).toBe('"localhost*2": DNSBL domain "localhost" needs at least two labels (e.g. "zen.spamhaus.org")');
    expect(error('=127.0.0.2')).toBe('"=127.0.0.2": DNSBL domain is empty');
    expect(error('zen.spamhaus.org=127.0.0.[2..11*3')).toBe('"zen.spamhaus.org=127.0.0.[2..11*3": bad filter: need ";" or "]" at "127.0.0.[2..11><"');
    expect(error('a.example b.example')).toBe('"a.example b.example": one site per entry, without spaces or commas');
    expect(error(`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example`)).toMatch(/is 190 octets; at most 189 leave room for an IPv6 query$/);
  });

  it('derives stable symbols from the shown name: DNSBL_ for blocklists, DNSWL_ for allowlists', () => {
    expect(derivedSymbol('zen.spamhaus.org', 3)).toBe('DNSBL_ZEN_SPAMHAUS_ORG');
    expect(derivedSymbol('list.dnswl.org', -2)).toBe('DNSWL_LIST_DNSWL_ORG');
    expect(derivedSymbol('b.barracuda-central.org', 1)).toBe('DNSBL_B_BARRACUDA_CENTRAL_ORG');
    const r = buildSites(['zen.spamhaus.org*3', { site: 'k3y.zen.dq.spamhaus.net=127.0.0.[2..11]*3', reply: 'zen.spamhaus.org', name: 'DNSBL_ZEN_DQS' }, { site: 'x.dq.example', reply: 'public.example' }]);
    expect(r.ok && r.sites.map((s) => [s.symbol, s.display])).toEqual([
      ['DNSBL_ZEN_SPAMHAUS_ORG', 'zen.spamhaus.org'],
      ['DNSBL_ZEN_DQS', 'zen.spamhaus.org'],
      ['DNSBL_PUBLIC_EXAMPLE', 'public.example'],
    ]);
  });

  it('asks for a name when two entries of one zone would share a symbol', () => {
    const r = buildSites(['list.dnswl.org=127.0.[2..15].0*-2', 'list.dnswl.org=127.0.[2..15].1*-3', { site: 'list.dnswl.org=127.0.[2..15].[2..3]*-4', name: 'DNSWL_HIGH' }]);
    expect(r).toEqual({ ok: false, errors: [{ index: 1, field: null, message: 'symbol DNSWL_LIST_DNSWL_ORG already names sites[0]; give this entry its own name: { site: "...", name: "DNSBL_..." }' }] });
  });

  it('reports each bad site at its config path, and DNSBL_THRESHOLD as a reserved name', () => {
    const r = validateConfig({
      hostname: 'mx.example.test',
      listen: [{ address: '127.0.0.1:2525' }],
      domains: { 'example.test': { relay: ['127.0.0.1:2526'] } },
      dataDir: '/tmp/x',
      checks: { dnsbl: { sites: ['zen.spamhaus.org*3', 'bl.example=127.0.0.[9..1]', { site: 'a.example', name: 'DNSBL_THRESHOLD' }, { site: 'b.example', name: 'lower' }] } },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      { path: 'checks.dnsbl.sites[1]', message: '"bl.example=127.0.0.[9..1]": bad filter: numeric range error: 9..1 is empty (start > end) at "127.0.0.[9..>1<]"' },
      { path: 'checks.dnsbl.sites[2].name', message: '"DNSBL_THRESHOLD" is reserved for the check itself' },
      { path: 'checks.dnsbl.sites[3].name', message: '"lower": symbol names are upper-case letters, digits and _' },
    ]);
    const s = dnsblSchema.safeParse({ sites: [{ site: 'zen.spamhaus.org*x' }, { site: 'a.example', reply: 'no spaces.example' }, 'b.example', 'b.example=127.0.0.2'] });
    expect(s.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['sites.0.site', '"zen.spamhaus.org*x": weight "x" is not an integer'],
      ['sites.1.reply', 'reply name "no spaces.example" has an invalid label "no spaces" (letters, digits, "-", "_"; at most 63)'],
      ['sites.3', 'symbol DNSBL_B_EXAMPLE already names sites[2]; give this entry its own name: { site: "...", name: "DNSBL_..." }'],
    ]);
  });

  it('defaults to no sites, threshold 3 and allowlist threshold -1, and refuses a positive allowlist threshold', () => {
    expect(dnsblSchema.parse({})).toMatchObject({ enabled: true, sites: [], threshold: 3, allowlistThreshold: -1 });
    expect(dnsblSchema.safeParse({ allowlistThreshold: 0 }).success).toBe(false);
    expect(dnsblSchema.safeParse({ threshold: 0 }).success).toBe(false);
  });
});

describe('query names', () => {
  it('reverses IPv4 octets, IPv6 nibbles, and IPv4-mapped IPv6 as IPv4', () => {
    expect(queryName('192.0.2.99', 'zen.test')).toBe('99.2.0.192.zen.test');
    expect(queryName('::1', 'zen.test')).toBe(`1.${'0.'.repeat(31)}zen.test`);
    expect(queryName('2001:db8::567:89ab', 'bl.test')).toBe('b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test');
    expect(queryName('::ffff:192.0.2.99', 'zen.test')).toBe('99.2.0.192.zen.test');
    expect(queryName('not-an-ip', 'zen.test')).toBeNull();
  });
});
