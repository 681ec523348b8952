// Corpus test of the urls and attachments checks: each .eml fixture (test/fixtures/eml) through one
// end of data of the real pipeline with the default policy, expecting exactly these symbols and
// this action. phish-links: a link shown as paypal.com going to an IP, a defanged address, a
// shortener and a password form posting elsewhere (2 + 1.5 + 2 + 0.5 + 2 = 8: quarantine);
// dropper: a zip in a zip holding IMG_2041.jpg.scr (a PE), refused in the conversation;
// macro-order: a Word document with a VBA project and an encrypted zip (3 + 2 = 5: tag); ham: none.
// No zones are configured, so no DNS is asked (the resolver throws if it is).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataPass, viewOf } from '../../test/support/scan.js';
import type { Resolver } from '../platform/dns/index.js';
import { attachmentsCheck, attachmentsSchema } from './attachments/index.js';
import { urlsCheck, urlsSchema } from './urls/index.js';

const EML = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'eml');
const NO_DNS: Resolver = new Proxy({} as Resolver, { get: () => () => Promise.reject(new Error('no DNS in this test')) });
const checks = [attachmentsCheck(attachmentsSchema.parse({})), urlsCheck(urlsSchema.parse({}), { resolver: NO_DNS })];

async function scan(file: string): Promise<{ symbols: [string, number][]; score: number; action: string; reply: string | null }> {
  const r = await dataPass(checks, viewOf(readFileSync(join(EML, file), 'utf8')));
  expect(r.failedOpen).toEqual([]);
  const e = r.explanation;
  return { symbols: e.findings.map((f): [string, number] => [f.symbol, f.score]).sort(), score: e.score, action: e.action, reply: r.reply };
}

describe('content corpus (default policy)', () => {
  it('quarantines the phishing message by its link signs', async () => {
    expect(await scan('phish-links.eml')).toEqual({
      symbols: [['HTML_FORM_REMOTE', 2.1], ['URL_IP_LITERAL', 1.5], ['URL_OBFUSCATED', 2], ['URL_SHORTENER', 0.5], ['URL_TEXT_MISMATCH', 2.4]],
      score: 8.5,
      action: 'quarantine',
      reply: null,
    });
  });

  it('refuses the dropper: an executable with a double extension two zips deep', async () => {
    const r = await scan('dropper.eml');
    expect(r.symbols).toEqual([['ATTACH_BLOCKED', 10], ['ATTACH_DOUBLE_EXTENSION', 3]]);
    expect(r.action).toBe('reject');
    expect(r.reply).toBe('554 5.7.1 Message rejected: it carries an attachment type that is not accepted here');
  });

  it('tags the macro document with its encrypted archive', async () => {
    expect(await scan('macro-order.eml')).toEqual({ symbols: [['ATTACH_ENCRYPTED_ARCHIVE', 2], ['ATTACH_OFFICE_MACRO', 3]], score: 5, action: 'tag', reply: null });
  });

  it('finds nothing in the ham', async () => {
    expect(await scan('ham.eml')).toEqual({ symbols: [], score: 0, action: 'accept', reply: null });
  });
});
