/**
 * A small pipelining-free SMTP sender for end-to-end tests: one message per call on its own
 * connection, returning the final reply. Real clients (swaks, smtp-source) are used elsewhere; this one
 * exists to tag each message and know exactly which ones got their 250.
 */
import { SmtpTalk } from './smtp-talk.js';

export interface SendResult {
  readonly code: number;
  readonly text: string;
}

export interface Rcpt {
  readonly address: string;
  /** ESMTP parameters after the address, e.g. "NOTIFY=SUCCESS ORCPT=rfc822;a@b.c". */
  readonly params?: string;
}

export interface SendOptions {
  readonly host?: string;
  /** ESMTP parameters of MAIL, e.g. "RET=HDRS ENVID=x". */
  readonly mailParams?: string;
}

export async function sendMessage(port: number, from: string, to: readonly (string | Rcpt)[], body: string, opts: SendOptions = {}): Promise<SendResult> {
  const host = opts.host ?? '127.0.0.1';
  const t = await SmtpTalk.open(port, host);
  try {
    const step = async (line: string | null): Promise<SendResult> => {
      if (line !== null) t.line(line);
      const r = await t.reply(30_000);
      if (!r) return { code: 0, text: 'closed' };
      return { code: r.code, text: r.lines.join('\n') };
    };
    let r = await step(null);
    if (r.code !== 220) return r;
    r = await step('EHLO client.example');
    if (r.code !== 250) return r;
    r = await step(`MAIL FROM:<${from}>${opts.mailParams ? ` ${opts.mailParams}` : ''}`);
    if (r.code !== 250) return r;
    let accepted = 0;
    for (const rcpt of to) {
      const r2 = typeof rcpt === 'string' ? { address: rcpt } : rcpt;
      if ((await step(`RCPT TO:<${r2.address}>${r2.params ? ` ${r2.params}` : ''}`)).code === 250) accepted++;
    }
    if (accepted === 0) return { code: 554, text: 'no recipient accepted' };
    r = await step('DATA');
    if (r.code !== 354) return r;
    const data = body.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    t.send(`${data}${data.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    r = await step(null);
    t.line('QUIT');
    return r;
  } finally {
    t.close();
  }
}
