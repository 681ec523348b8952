import { describe, expect, it } from 'vitest';
import { messageView } from '../../pipeline/message.js';
import type { ParsedMime } from '../mime/types.js';
import { DEFAULT_EXTRACT, extractUrlSet, extractUrls, type ExtractedUrl } from './extract.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'));
const HEAD = 'From: a@example.org\nTo: b@example.com\nSubject: s\nDate: Mon, 2 Jun 2025 10:00:00 +0000\nMessage-ID: <x@example.org>\nMIME-Version: 1.0\n';

async function parse(raw: Buffer): Promise<ParsedMime> {
  return messageView(raw, raw.length, async function* () {}).mime();
}
const text = (body: string): Promise<ParsedMime> => parse(crlf(`${HEAD}Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${body}\n`));
const html = (body: string): Promise<ParsedMime> => parse(crlf(`${HEAD}Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${body}\n`));
const urlsOfText = async (body: string): Promise<string[]> => extractUrls(await text(body)).map((u) => u.url);
const one = async (body: string): Promise<ExtractedUrl> => {
  const u = extractUrls(await text(body));
  expect(u).toHaveLength(1);
  return u[0] as ExtractedUrl;
};

describe('URL extraction from text', () => {
  it('finds scheme URLs, www. names and bare domains with known suffixes, normalised', async () => {
    expect(await urlsOfText('see HTTP://Example.COM:80/a b, and www.shop.example.co.uk/x?y=1. or paypal-login.com/verify')).toEqual([
      'http://example.com/a',
      'http://www.shop.example.co.uk/x?y=1',
      'http://paypal-login.com/verify',
    ]);
    const u = await one('go to https://Sub.Evil.co.uk/path');
    expect(u).toMatchObject({ host: 'sub.evil.co.uk', registrableDomain: 'evil.co.uk', source: 'text', linkText: null, obfuscations: [], ip: null });
  });

  it('keeps prose, file names and e-mail addresses out', async () => {
    expect(await urlsOfText('Run setup.py, read notes.md and archive.zip; mail bob@example.com; version 1.2.3; e.g. this; report.txt; the end.')).toEqual([]);
    // A path makes a file-like suffix a link.
    expect(await urlsOfText('download evil.zip/payload now')).toEqual(['http://evil.zip/payload']);
  });

  it('strips trailing punctuation but keeps balanced parentheses', async () => {
    expect(await urlsOfText('(see https://en.example.org/wiki/Foo_(bar)), "http://q.example/x".')).toEqual(['https://en.example.org/wiki/Foo_(bar)', 'http://q.example/x']);
  });

  it('undoes defanging: hxxp, [.], (dot), [:]', async () => {
    for (const s of ['hxxp://evil[.]example/login', 'hXXp://evil(.)example/login', 'http[:]//evil[dot]example/login', 'h**p://evil{.}example/login']) {
      const u = await one(s);
      expect(u.url).toBe('http://evil.example/login');
      expect(u.obfuscations).toContain('defanged');
    }
  });

  it('reads a hidden e-mail address as an address, not a link', async () => {
    expect(await urlsOfText('Kevin - <kevin (at) linuxmail {dot} org>, or bob[at]example[dot]com')).toEqual([]);
  });

  it('reads " dot " only where it cannot be prose', async () => {
    expect((await one('visit www dot evil dot com now')).url).toBe('http://www.evil.com/');
    expect((await one('visit evil dot com/claim now')).obfuscations).toEqual(['spaced-dot']);
    expect(await urlsOfText('back in the dot com era')).toEqual([]);
  });

  it('reads Unicode full stops, full-width letters and zero-width characters as the browser does', async () => {
    const dots = await one('open https://evil。example/x');
    expect(dots).toMatchObject({ url: 'https://evil.example/x', obfuscations: ['unicode-dot'] });
    const wide = await one('ｈｔｔｐｓ：／／ｅｖｉｌ．ｅｘａｍｐｌｅ／x');
    expect(wide).toMatchObject({ url: 'https://evil.example/x' });
    expect(wide.obfuscations).toContain('fullwidth');
    const zw = await one('https://pay\u200Bpal.example/\u200B');
    expect(zw).toMatchObject({ host: 'paypal.example', obfuscations: ['zero-width'] });
  });

  it('sees through userinfo: the host is what follows the last @', async () => {
    const u = await one('https://www.bank.example@evil.example/login');
    expect(u).toMatchObject({ host: 'evil.example', registrableDomain: 'evil.example', userinfo: 'www.bank.example' });
  });

  it('reads IP literals in decimal, octal, hex and short forms, and marks the encoded ones', async () => {
    expect(await one('http://3232235777/x')).toMatchObject({ host: '192.168.1.1', ip: '192.168.1.1', registrableDomain: null, obfuscations: ['ip-encoded'] });
    expect(await one('http://0x7f.1/x')).toMatchObject({ ip: '127.0.0.1', obfuscations: ['ip-encoded'] });
    expect(await one('http://0300.0250.1.1/')).toMatchObject({ ip: '192.168.1.1', obfuscations: ['ip-encoded'] });
    expect(await one('http://192.0.2.7/plain')).toMatchObject({ ip: '192.0.2.7', obfuscations: [] });
    expect(await one('http://[2001:db8::1]/v6')).toMatchObject({ host: '[2001:db8::1]', ip: '2001:db8::1' });
  });

  it('turns IDNs into A-labels and percent-encoded hosts into names', async () => {
    expect(await one('http://bücher.example/')).toMatchObject({ host: 'xn--bcher-kva.example', registrableDomain: 'xn--bcher-kva.example', obfuscations: [] });
    expect(await one('http://ev%69l.example/')).toMatchObject({ host: 'evil.example', obfuscations: ['percent-host'] });
  });

  it('flags shorteners without expanding them', async () => {
    expect(await one('short: https://bit.ly/3xYz')).toMatchObject({ host: 'bit.ly', shortener: true });
    expect(await one('long: https://example.org/3xYz')).toMatchObject({ shortener: false });
  });

  it('adds the target a redirector carries in its query, marked via', async () => {
    const u = extractUrls(await text('https://www.google.example/url?q=https%3A%2F%2Fevil.example%2Fphish&sa=D'));
    expect(u.map((x) => [x.host, x.via])).toEqual([
      ['www.google.example', null],
      ['evil.example', 'www.google.example'],
    ]);
  });
});

describe('URL extraction from HTML', () => {
  it('takes a/href with its text, area, img/src, form/action, meta refresh and backgrounds', async () => {
    const m = await html(
      `<html><head><meta http-equiv="refresh" content="0; url=https://refresh.example/go"></head>
       <body background="http://bg.example/b.png"><a href="https://click.example/t?id=1">Your  <b>account</b></a>
       <img src="http://img.example/p.gif"><map><area href="http://area.example/" alt="Area"></map>
       <form action="https://collect.example/post" method="post"><input name=p></form>
       <div style="background: url('http://css.example/x.png')">x</div>
       <a href="mailto:x@example.org">mail</a><a href="javascript:void(0)">js</a></body></html>`,
    );
    const got = extractUrls(m).filter((u) => u.source !== 'html-text').map((u) => [u.source, u.element, u.host, u.linkText]);
    expect(got).toEqual([
      ['html-href', 'meta', 'refresh.example', null],
      ['html-src', 'body', 'bg.example', null],
      ['html-href', 'a', 'click.example', 'Your account'],
      ['html-src', 'img', 'img.example', null],
      ['html-href', 'area', 'area.example', 'Area'],
      ['html-href', 'form', 'collect.example', null],
      ['html-src', 'div', 'css.example', null],
    ]);
  });

  it('decodes entities and resolves relative links against <base href>', async () => {
    const m = await html('<base href="https://base.example/dir/"><a href="login.php?a=1&amp;b=2">x</a><a href="/abs">y</a><a href="rel-without-base-is-fine">z</a>');
    expect(extractUrls(m).map((u) => u.url)).toEqual(['https://base.example/dir/login.php?a=1&b=2', 'https://base.example/abs', 'https://base.example/dir/rel-without-base-is-fine']);
    const noBase = await html('<a href="relative/only">x</a>');
    expect(extractUrls(noBase)).toEqual([]);
  });

  it('marks hosts written with character references', async () => {
    const m = await html('<a href="http://&#101;&#118;&#105;&#108;.example/">x</a><a href="http://ok.example/?a=1&#38;b=2">y</a>');
    const got = extractUrls(m).map((u) => [u.host, u.obfuscations]);
    expect(got).toEqual([
      ['evil.example', ['entity-host']],
      ['ok.example', []],
    ]);
  });

  it('finds URLs in the rendered text as html-text', async () => {
    const m = await html('<p>Copy this: www.visible.com/x</p><a href="https://t.example/">https://www.bank.example/</a>');
    const got = extractUrls(m).map((u) => [u.source, u.host, u.linkText]);
    expect(got).toEqual([
      ['html-href', 't.example', 'https://www.bank.example/'],
      ['html-text', 'www.visible.com', null],
      ['html-text', 'www.bank.example', null],
    ]);
  });
});

describe('URL extraction bounds', () => {
  it('keeps at most maxUrls, at most maxPerHost per host, and says so', async () => {
    const body = [...Array.from({ length: 40 }, (_, i) => `https://pad.example/${i}`), 'https://late.example/x'].join('\n');
    const m = await text(body);
    const set = extractUrlSet(m, { ...DEFAULT_EXTRACT, maxPerHost: 5 });
    expect(set.truncated).toBe(true);
    expect(set.urls.filter((u) => u.host === 'pad.example')).toHaveLength(5);
    expect(set.urls.map((u) => u.host)).toContain('late.example');
    const capped = extractUrlSet(m, { ...DEFAULT_EXTRACT, maxUrls: 3 });
    expect(capped.urls).toHaveLength(3);
  });

  it('deduplicates and memoises per parse', async () => {
    const m = await text('https://a.example/ https://a.example/ https://a.example/');
    expect(extractUrls(m)).toHaveLength(1);
    expect(extractUrlSet(m)).toBe(extractUrlSet(m));
  });

  it('stays linear on hostile input', async () => {
    const m = await text(`${'a.'.repeat(200_000)}b ${'[.]'.repeat(50_000)} ${'http://'.repeat(20_000)}`);
    const t = performance.now();
    extractUrls(m);
    expect(performance.now() - t).toBeLessThan(3000);
  });
});
