import { describe, expect, it } from 'vitest';
import { messageView } from '../../pipeline/message.js';
import { MAX_TOKENS, tokenize } from './tokenize.js';

const msg = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'));
const tokens = async (s: string): Promise<string[]> => {
  const raw = msg(s);
  return tokenize(messageView(raw, raw.length, async function* () {}));
};

const HEAD = [
  'Received: from mail.sender.example (relay.sender.example [192.0.2.10]) by mx.example.com',
  'From: "Cheap Meds" <sales@shop.example.co.uk>',
  'To: bob@example.com',
  'Reply-To: other@reply.example',
  'Subject: FREE Offer, today only!',
  'Message-ID: <abc@mailer.shop.example>',
  'X-Mailer: Bulk Sender 2.1',
  'List-Id: News <news.lists.example>',
  'List-Unsubscribe: <mailto:u@lists.example>',
].join('\n');

describe('Bayes tokenizer', () => {
  it('prefixes header clues with the field name', async () => {
    const t = await tokens(`${HEAD}\n\nhello\n`);
    expect(t).toEqual(
      expect.arrayContaining([
        'from:addr:sales@shop.example.co.uk',
        'from:dom:co.uk',
        'from:dom:example.co.uk',
        'from:dom:shop.example.co.uk',
        'from:name:cheap',
        'from:name:meds',
        'reply-to:dom:reply.example',
        'to:dom:example.com',
        'subject:free',
        'subject:offer',
        'subject:today',
        'message-id:mailer.shop.example',
        'x-mailer:bulk sender 2.1',
        'x-mailer:w:bulk',
        'list-id:lists.example',
        'list-unsubscribe:yes',
        'received:helo:mail.sender.example',
        'received:rdns:relay.sender.example',
        'received:ip:192.0.2',
        'user-agent:none',
      ]),
    );
    // The domain's top label alone is no clue; To addresses are not kept (only their domain).
    expect(t).not.toContain('from:dom:uk');
    expect(t).not.toContain('to:addr:bob@example.com');
    expect(t).not.toContain('free');
  });

  it('normalises body words: lower case, punctuation trimmed, length bounds, long words and numbers bucketed', async () => {
    const t = await tokens(`${HEAD}\n\nBuy NOW, "Friend"! at 4.99 or 1234567 a an ok\nsupercalifragilisticexpialidocious $100 wow!!!\n`);
    expect(t).toEqual(expect.arrayContaining(['buy', 'now', 'friend', 'num:3', 'num:7', 'skip:s 30', 'money:$', 'punct:!!', 'wow', '$100']));
    expect(t).not.toContain('a');
    expect(t).not.toContain('ok');
    expect(t).not.toContain('supercalifragilisticexpialidocious');
  });

  it('splits URLs into host parts and path words, and email addresses into their domain', async () => {
    const t = await tokens(`${HEAD}\n\nsee http://www.pills.example.net/buy/cheap-meds.html?id=42 or http://10.1.2.3/x and write to joe@corp.example.org\n`);
    expect(t).toEqual(
      expect.arrayContaining(['proto:http', 'url:example.net', 'url:pills.example.net', 'url:www.pills.example.net', 'urlpath:buy', 'urlpath:cheap', 'urlpath:meds', 'urlpath:html', 'url:ip', 'email:addr', 'email:corp.example.org']),
    );
    expect(t.some((x) => x.includes('joe'))).toBe(false);
  });

  it('reads the rendered HTML, its tag names, attachments and the MIME structure', async () => {
    const body = [
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/html; charset=iso-8859-1',
      '',
      '<html><body><font color=red>Amazing</font> <b>deal</b><table><tr><td>click</td></tr></table></body></html>',
      '--b',
      'Content-Type: application/octet-stream; name="invoice.pdf.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      'TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==',
      '--b--',
      '',
    ].join('\n');
    const t = await tokens(`${HEAD}\n${body}`);
    expect(t).toEqual(
      expect.arrayContaining([
        'amazing',
        'deal',
        'click',
        'htmltag:font',
        'htmltag:table',
        'mime:html-only',
        'mime:type:text/html',
        'mime:charset:iso-8859-1',
        'mime:cte:base64',
        'attach:ext:exe',
        'attach:type:application/octet-stream',
        'attach:sniffed:application/x-msdownload',
        'content-type:multipart/mixed',
      ]),
    );
  });

  it('gives each token once and bounds the count', async () => {
    const words = Array.from({ length: 5000 }, (_, i) => `word${i}x`).join(' ');
    const t = await tokens(`${HEAD}\n\nrepeat repeat repeat ${words}\n`);
    expect(new Set(t).size).toBe(t.length);
    expect(t.length).toBe(MAX_TOKENS);
    expect(t.filter((x) => x === 'repeat')).toHaveLength(1);
  });

  it('never throws on a message without header or body', async () => {
    expect(await tokens('\n')).toEqual(expect.arrayContaining(['subject:none', 'message-id:none', 'to:none']));
    expect(await tokens('garbage without colon\n')).toContain('subject:none');
  });
});
