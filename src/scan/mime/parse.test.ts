import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageView, type MessageView } from '../../pipeline/message.js';
import { toCrlf } from '../../cli/scan-input.js';
import { MIME_SAMPLES } from '../../../test/fixtures/mime-samples.js';
import { limitsForScan, mimeParser, parseMime } from './index.js';
import { MIME_PROBLEMS, type MimeLimits } from './types.js';

const EML = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'eml');
const fixture = (name: string): Buffer => toCrlf(readFileSync(join(EML, name)));
const view = (raw: Buffer, size = raw.length, parse = mimeParser()): MessageView => messageView(raw.subarray(0, Math.min(raw.length, size)), size, async function* () {}, parse);

describe('parseMime on the malformed samples', () => {
  for (const s of MIME_SAMPLES) {
    it(`${s.name}: decodes what a reader sees and reports ${s.problems?.join(', ') || 'no problem'}`, async () => {
      const m = await parseMime(view(s.raw));
      const e = s.expect;
      if (e.subject !== undefined) expect(m.headers.subject).toBe(e.subject);
      if (e.fromName !== undefined) expect(m.headers.from[0]?.name).toBe(e.fromName);
      if (e.fromAddress !== undefined) expect(m.headers.from[0]?.address).toBe(e.fromAddress);
      for (const t of e.text ?? []) expect(m.text).toContain(t);
      for (const t of e.html ?? []) expect(m.html).toContain(t);
      if (e.attachments) {
        expect(m.attachments.map((a) => [a.filename, a.contentType])).toEqual(e.attachments.map((a) => [a.filename, a.contentType]));
        e.attachments.forEach((a, i) => {
          if (a.size !== undefined) expect(m.attachments[i]?.size).toBe(a.size);
          if (a.startsWith !== undefined) expect(m.attachments[i]?.content.toString('hex').startsWith(a.startsWith)).toBe(true);
        });
      }
      expect([...new Set(m.problems.map((p) => p.code))].sort()).toEqual([...(s.problems ?? [])].sort());
    });
  }
});

describe('parseMime: the part tree', () => {
  it('numbers parts as IMAP does and continues the path into a nested message', async () => {
    const nested = MIME_SAMPLES.find((s) => s.name === 'nested-rfc822');
    const m = await parseMime(view(nested?.raw ?? Buffer.alloc(0)));
    expect(m.parts.map((p) => [p.path, p.kind, p.contentType])).toEqual([
      ['1', 'text', 'text/plain'],
      ['2', 'message', 'message/rfc822'],
      ['2.1', 'text', 'text/plain'],
      ['2.2', 'attachment', 'application/zip'],
    ]);
    expect(m.nested).toHaveLength(1);
    expect(m.nested[0]?.headers.from[0]).toEqual({ name: 'Carol', address: 'carol@example.net' });
    expect(m.attachments[0]?.sniffedType?.ext).toBe('zip');
  });

  it('sniffs the real type whatever the part claims: an .exe sent as a PDF', async () => {
    const raw = Buffer.from(
      'From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
        `--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62), Buffer.from('PE\0\0')]).toString('base64')}\r\n` +
        '--b\r\nContent-Type: application/octet-stream; name=run.sh\r\n\r\n#!/bin/sh\r\nrm -rf /\r\n--b--\r\n',
    );
    const m = await parseMime(view(raw));
    expect(m.attachments.map((a) => [a.filename, a.contentType, a.sniffedType?.ext ?? null])).toEqual([
      ['invoice.pdf', 'application/pdf', 'exe'],
      ['run.sh', 'application/octet-stream', 'sh'],
    ]);
  });

  it('renders HTML to visible text: no script or style, link text kept, hrefs left out', async () => {
    const m = await parseMime(view(fixture('ham.eml')));
    expect(m.htmlText).toContain('here are the minutes');
    const raw = Buffer.from('From: a@example.org\r\nContent-Type: text/html\r\n\r\n<style>p{}</style><script>var s="hidden";</script><p>Click <a href="https://x.example/">here now</a></p>\r\n');
    const h = await parseMime(view(raw));
    expect(h.htmlText).toContain('Click here now');
    expect(h.htmlText).not.toMatch(/hidden|x\.example|p\{\}/);
    expect(h.html).toContain('https://x.example/');
  });

  it('decodes the header fields checks read', async () => {
    const m = await parseMime(view(fixture('ham.eml')));
    expect(m.headers.from).toEqual([{ name: 'Alice Example', address: 'alice@example.org' }]);
    expect(m.headers.to).toEqual([{ name: 'Bob', address: 'bob@example.com' }]);
    expect(m.headers.messageId).toBe('<minutes-20250603@example.org>');
    expect(m.headers.date?.time).toBe(Date.UTC(2025, 5, 3, 7, 15));
    expect(m.problems).toEqual([]);
  });
});

describe('parseMime: once per message, bounded', () => {
  it('parses a view once however many checks ask', async () => {
    let calls = 0;
    const inner = mimeParser();
    const v = view(fixture('ham.eml'), undefined, (x) => {
      calls++;
      return inner(x);
    });
    const [a, b] = await Promise.all([v.mime(), parseMime(v)]);
    expect(a).toBe(b);
    expect(await v.mime()).toBe(a);
    expect(calls).toBe(1);
  });

  it('cuts decoded content at the bound and says so', async () => {
    const limits: MimeLimits = { ...limitsForScan(64 * 1024), maxDecodedBytes: 1000 };
    const body = Buffer.alloc(5000, 0x41).toString('base64').replace(/(.{76})/g, '$1\r\n');
    const raw = Buffer.from(`From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`);
    const m = await parseMime(view(raw, raw.length, mimeParser(limits)));
    expect(m.parts[0]?.size).toBe(5000);
    expect(m.parts[0]?.content.length).toBe(1000);
    expect(m.parts[0]?.truncated).toBe(true);
    expect(m.problems.map((p) => p.code)).toEqual(['decoded-size-limit']);
  });

  it('keeps at most maxParts parts', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const raw = Buffer.from(`From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`);
    const m = await parseMime(view(raw, raw.length, mimeParser({ ...limitsForScan(1 << 20), maxParts: 10 })));
    expect(m.parts).toHaveLength(10);
    expect(m.problems.map((p) => p.code)).toContain('too-many-parts');
  });

  it('does not call a message cut by the scan limit malformed for its missing end', async () => {
    const raw = fixture('ham.eml');
    const m = await parseMime(view(raw, raw.length + 10_000));
    expect(m.truncated).toBe(true);
    expect(m.problems).toEqual([]);
  });
});

describe('parseMime fuzzed', () => {
  const seeds = [...MIME_SAMPLES.map((s) => s.raw), fixture('ham.eml'), fixture('malformed.eml')];
  const limits: MimeLimits = { maxDepth: 8, maxParts: 20, maxDecodedBytes: 4096, maxHtmlRender: 4096 };
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('--', '\r\n--b1\r\n', '=?utf-8?b?', 'Content-Type: multipart/mixed; boundary=b1\r\n', '\r\n\r\n', '=\r\n', '=ZZ', 'Content-Transfer-Encoding: base64\r\n', '\0\xff') }),
  );
  it('never throws, reports only known problems and stays within its bounds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }), async (seed, muts) => {
        let b = Buffer.from(seeds[seed] as Buffer);
        for (const m of muts) {
          const at = m.at % (b.length + 1);
          if (m.kind === 'flip' && b.length > 0) b[at % b.length] = m.byte;
          else if (m.kind === 'cut') b = b.subarray(0, at);
          else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text, 'latin1'), b.subarray(at)]);
        }
        const p = await parseMime(view(b, b.length, mimeParser(limits)));
        expect(p.parts.filter((x) => x.kind !== 'message').length).toBeLessThanOrEqual(limits.maxParts);
        expect(p.parts.reduce((n, x) => n + x.content.length, 0)).toBeLessThanOrEqual(limits.maxDecodedBytes);
        for (const x of p.problems) expect(MIME_PROBLEMS).toContain(x.code);
        expect(p.htmlText.length).toBeLessThanOrEqual(limits.maxHtmlRender);
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) },
    );
  });
});
