import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageView } from '../../pipeline/message.js';
import { toCrlf } from '../../cli/scan-input.js';
import { MIME_SAMPLES } from '../../../test/fixtures/mime-samples.js';
import { findStructure, structureCheck } from './index.js';

const EML = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'eml');
const NOW = Date.UTC(2025, 5, 10);
const symbols = async (raw: Buffer, now = NOW): Promise<string[]> => findStructure(await messageView(raw, raw.length, async function* () {}).mime(), now).map((f) => f.symbol).sort();
const msg = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'));
const GOOD = 'From: a@example.org\nTo: b@example.com\nSubject: s\nDate: Mon, 2 Jun 2025 10:00:00 +0000\nMessage-ID: <x@example.org>\n';

describe('mime-structure', () => {
  it('finds nothing in a clean ham', async () => {
    expect(await symbols(toCrlf(readFileSync(join(EML, 'ham.eml'))))).toEqual([]);
  });

  it('turns parse problems into MIME_MALFORMED, MIME_MISSING_VERSION and MIME_CHARSET_UNKNOWN', async () => {
    expect(await symbols(toCrlf(readFileSync(join(EML, 'malformed.eml'))))).toEqual(['MIME_MALFORMED', 'MIME_MISSING_VERSION']);
    const unknown = MIME_SAMPLES.find((s) => s.name === 'unknown-charset')?.raw ?? Buffer.alloc(0);
    expect(await symbols(unknown)).toEqual(['MIME_CHARSET_UNKNOWN']);
  });

  it('checks RFC 5322 §3.6 cardinality: From exactly once, Subject and Message-ID at most once', async () => {
    expect(await symbols(msg('To: b@example.com\nSubject: s\nDate: Mon, 2 Jun 2025 10:00:00 +0000\nMessage-ID: <x@example.org>\n\nbody\n'))).toEqual(['MISSING_FROM']);
    expect(await symbols(msg(`${GOOD}From: c@example.org\n\nbody\n`))).toEqual(['FROM_MULTIPLE']);
    expect(await symbols(msg(`${GOOD.replace('From: a@example.org', 'From: a@example.org, c@example.org')}\nbody\n`))).toEqual(['FROM_MULTIPLE']);
    expect(await symbols(msg(`${GOOD.replace('From: a@example.org', 'From: a@example.org, c@example.org\nSender: a@example.org')}\nbody\n`))).toEqual([]);
    expect(await symbols(msg(`${GOOD}Subject: again\nMessage-ID: <y@example.org>\n\nbody\n`))).toEqual(['HEADER_DUPLICATE']);
  });

  it('judges Date and Message-ID', async () => {
    expect(await symbols(msg(`${GOOD.replace(/Date: .*\n/, '')}\nbody\n`))).toEqual(['MISSING_DATE']);
    expect(await symbols(msg(`${GOOD.replace(/Date: .*\n/, 'Date: someday soon\n')}\nbody\n`))).toEqual(['DATE_INVALID']);
    expect(await symbols(msg(`${GOOD.replace(/Date: .*\n/, 'Date: Mon, 2 Jun 2031 10:00:00 +0000\n')}\nbody\n`))).toEqual(['DATE_INVALID']);
    expect(await symbols(msg(`${GOOD.replace(/Message-ID: .*\n/, 'Message-ID: no-brackets\n')}\nbody\n`))).toEqual(['MESSAGE_ID_MALFORMED']);
    expect(await symbols(msg(`${GOOD.replace(/Message-ID: .*\n/, '')}\nbody\n`))).toEqual(['MISSING_MESSAGE_ID']);
  });

  it('weighs raw 8-bit headers: a third for UTF-8 (RFC 6532), fully for anything else', async () => {
    const utf8 = MIME_SAMPLES.find((s) => s.name === 'eight-bit-headers')?.raw ?? Buffer.alloc(0);
    const f = findStructure(await messageView(utf8, utf8.length, async function* () {}).mime(), NOW);
    expect(f).toEqual([{ symbol: 'HEADER_8BIT_UNENCODED', detail: 'from (UTF-8)', weight: 1 / 3 }]);
    const latin = Buffer.concat([msg(`${GOOD.replace('Subject: s\n', '')}Subject: caf`), Buffer.from([0xe9]), msg('\n\nbody\n')]);
    const g = findStructure(await messageView(latin, latin.length, async function* () {}).mime(), NOW);
    expect(g).toEqual([{ symbol: 'HEADER_8BIT_UNENCODED', detail: 'subject (not UTF-8)', weight: 1 }]);
  });

  it('finds an empty body, and alternatives that say different things', async () => {
    expect(await symbols(msg(`${GOOD}\n\n`))).toEqual(['EMPTY_BODY']);
    const alt = (text: string, html: string): Buffer =>
      msg(`${GOOD}MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\n${text}\n--a\nContent-Type: text/html\n\n<p>${html}</p>\n--a--\n`);
    const same = 'please review the attached quarterly budget figures before our meeting on thursday afternoon';
    expect(await symbols(alt(same, same))).toEqual([]);
    expect(await symbols(alt(same, 'cheap watches replica pharmacy online casino bonus viagra lottery winner crypto investment'))).toEqual(['TEXT_AND_HTML_DIFFER']);
  });

  it('runs at end of data on the shared parse', async () => {
    const raw = msg(`${GOOD.replace(/Date: .*\n/, '')}\nbody\n`);
    const run = structureCheck({ now: () => NOW, setTimer: () => ({ cancel: () => undefined }) }).open({ id: 's', clientIp: '192.0.2.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 });
    const v = messageView(raw, raw.length, async function* () {});
    const ctx = { session: { id: 's', clientIp: '192.0.2.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 }, facts: {}, tx: { authResults: [] }, isLocal: () => true, from: null, recipients: [] };
    expect(await run.data?.(v, ctx, AbortSignal.timeout(5000))).toEqual([{ symbol: 'MISSING_DATE' }]);
  });
});
