/**
 * The attachments and urls checks through the real gateway (supervisor + workers), swaks as the
 * client with --attach, smtp-sink as the LAN server and dnsmasq as the URI blocklist. An
 * executable renamed invoice.pdf is refused at end of data with 554 5.7.1 (the default action)
 * and logged as message.rejected; a phishing HTML whose link text names one bank and whose href
 * goes elsewhere, on a URI-blocklisted domain, is quarantined for URL_TEXT_MISMATCH and the URIBL hit.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peStub, zipOf } from '../fixtures/archives.js';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { runSwaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

describe('content checks end to end', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    dns = await startDnsmasq({ addresses: [{ name: 'evil-bank.com.multi.uribl.test', address: '127.0.0.2' }], localSuffixes: ['test'] });
    sink = await startSmtpSink();
    gw = await startGateway({
      dir,
      relayPort: sink.port,
      config: { dns: { servers: [dns.server], timeout: '2s' }, workers: 1, checks: { urls: { zones: ['multi.uribl.test*1'] } } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  const send = (...args: string[]) =>
    runSwaks(['--server', `127.0.0.1:${gw.port}`, '--helo', 'client.test', '--from', 'sender@outside.test', '--to', 'bob@example.test', ...args]);

  it('refuses an executable renamed .pdf at end of data with 554 5.7.1', async () => {
    const file = join(dir, 'invoice.pdf');
    await writeFile(file, peStub());
    const r = await send('--header', 'Subject: content-exe', '--body', 'Please pay the attached invoice.', '--attach-type', 'application/pdf', '--attach', `@${file}`);
    expect(r.replies).toContain('554 5.7.1 Message rejected: it carries an attachment type that is not accepted here');
    const e = await gw.waitForEvent('message.rejected', (x) => String(x['reason']).includes('ATTACH_BLOCKED'));
    expect(e['reply']).toBe('554 5.7.1 Message rejected: it carries an attachment type that is not accepted here');
    expect(e['symbols']).toEqual(expect.arrayContaining(['ATTACH_BLOCKED', 'ATTACH_TYPE_MISMATCH']));
    expect((await sink.messages()).some((m) => m.data.includes('content-exe'))).toBe(false);
  });

  it('refuses an executable inside a zip the same way', async () => {
    const file = join(dir, 'photos.zip');
    await writeFile(file, zipOf([{ name: 'holiday/IMG_0042.jpg.scr', data: peStub() }]));
    const r = await send('--header', 'Subject: content-zip', '--body', 'Photos attached.', '--attach-type', 'application/zip', '--attach', `@${file}`);
    expect(r.replies).toContain('554 5.7.1 Message rejected: it carries an attachment type that is not accepted here');
    const e = await gw.waitForEvent('message.rejected', (x) => Array.isArray(x['symbols']) && (x['symbols'] as unknown[]).includes('ATTACH_DOUBLE_EXTENSION'));
    expect(e['symbols']).toEqual(expect.arrayContaining(['ATTACH_BLOCKED', 'ATTACH_DOUBLE_EXTENSION']));
  });

  it('quarantines a phishing HTML for its URL_TEXT_MISMATCH and URIBL listing, and says so in the verdict', async () => {
    const file = join(dir, 'phish.html');
    await writeFile(
      file,
      '<html><body><p>Your account is locked.</p><p><a href="https://secure-login.evil-bank.com/verify?id=42">https://www.mybank.com/login</a></p></body></html>\n',
    );
    const r = await send('--header', 'Subject: content-phish', '--attach-type', 'text/html', '--attach-body', `@${file}`);
    expect(r.replies.at(-2)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const id = /queued as ([0-9A-Z]+)/.exec(r.replies.at(-2) ?? '')?.[1];
    const e = await gw.waitForEvent('message.quarantined', (x) => x['queueId'] === id);
    expect(e['action']).toBe('quarantine');
    expect(e['symbols']).toEqual(expect.arrayContaining(['URL_TEXT_MISMATCH', 'URIBL_MULTI_URIBL_TEST']));
    const listed = await gw.cli('quarantine', 'list');
    expect(listed.stdout).toContain(id);
  });
});
