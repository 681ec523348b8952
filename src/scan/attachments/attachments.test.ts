// The attachments check on messages built in the test (test/fixtures/archives.ts): names, real
// types, zip/OOXML/gzip/tar/RAR/OLE2/PDF contents, the bounds, and the configured action. One
// real archive comes from Debian's zip (an encrypted one, as users make them).
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ELF, MSI_CLSID, messageWith, ole2Of, pdfOf, peStub, rar4Of, rar5Of, tarOf, wordDoc, zipOf } from '../../../test/fixtures/archives.js';
import { makeScratchDir, removeAllScratchDirs } from '../../../test/harness/index.js';
import { context, session } from '../../../test/support/check-context.js';
import { messageView } from '../../pipeline/message.js';
import { policySchema } from '../../pipeline/config.js';
import { decisionReply } from '../../pipeline/replies.js';
import { createPolicy, PipelineSession } from '../../pipeline/runner.js';
import type { Finding } from '../../pipeline/types.js';
import { replyToString } from '../../smtp/reply.js';
import { attachmentsCheck, attachmentsSchema } from './index.js';

type File = { readonly name: string | null; readonly data: Buffer; readonly type?: string };

async function findings(files: readonly File[], config: Record<string, unknown> = {}): Promise<Finding[]> {
  const raw = messageWith(files);
  const run = attachmentsCheck(attachmentsSchema.parse(config)).open(session());
  return (await run.data?.(messageView(raw, raw.length, async function* () {}), { ...context(), from: null, recipients: [] }, AbortSignal.timeout(20_000))) ?? [];
}
const symbols = async (files: readonly File[], config?: Record<string, unknown>): Promise<string[]> => (await findings(files, config)).map((f) => f.symbol).sort();
const detail = async (files: readonly File[], symbol: string, config?: Record<string, unknown>): Promise<string | undefined> => (await findings(files, config)).find((f) => f.symbol === symbol)?.detail;

afterAll(async () => {
  await removeAllScratchDirs();
});

describe('attachment names and real types', () => {
  it('finds nothing in ordinary documents', async () => {
    expect(await symbols([{ name: 'report.pdf', data: pdfOf('') }, { name: 'notes.txt', data: Buffer.from('hello') }, { name: 'minutes.doc', data: wordDoc(false) }])).toEqual([]);
  });

  it('blocks executable extensions, also when the content is not an executable', async () => {
    for (const name of ['setup.exe', 'PHOTO.SCR', 'run.bat', 'x.vbs', 'a.js', 'shortcut.lnk', 'disk.iso', 'app.msi', 'tool.jar', 'script.ps1', 'page.hta']) {
      expect(await detail([{ name, data: Buffer.from('not really') }], 'ATTACH_BLOCKED')).toBe(`${name}: .${name.split('.').at(-1)?.toLowerCase()}`);
    }
  });

  it('blocks executable content whatever the name, and says the name lies (ATTACH_TYPE_MISMATCH)', async () => {
    const f = await findings([{ name: 'invoice.pdf', data: peStub(), type: 'application/pdf' }]);
    expect(f.map((x) => x.symbol).sort()).toEqual(['ATTACH_BLOCKED', 'ATTACH_TYPE_MISMATCH']);
    expect(f).toContainEqual({ symbol: 'ATTACH_BLOCKED', detail: 'invoice.pdf: exe content' });
    expect(f).toContainEqual({ symbol: 'ATTACH_TYPE_MISMATCH', detail: 'invoice.pdf: .pdf is exe' });
    expect(await detail([{ name: null, data: ELF }], 'ATTACH_BLOCKED')).toBe('part 2: elf content');
  });

  it('finds double extensions, padded ones, and bidi spoofing', async () => {
    expect(await detail([{ name: 'invoice.pdf.exe', data: Buffer.from('x') }], 'ATTACH_DOUBLE_EXTENSION')).toBe('invoice.pdf.exe: .pdf.exe');
    expect(await detail([{ name: 'scan.jpg          .scr', data: Buffer.from('x') }], 'ATTACH_DOUBLE_EXTENSION')).toBe('scan.jpg          .scr: .jpg.scr');
    // Shown as "invoiceexe.pdf"; really "...exe" at the end.
    const rlo = await findings([{ name: 'invoice\u202Efdp.exe', data: Buffer.from('x') }]);
    expect(rlo.map((x) => x.symbol).sort()).toEqual(['ATTACH_BLOCKED', 'ATTACH_NAME_SPOOF']);
    expect(rlo).toContainEqual({ symbol: 'ATTACH_NAME_SPOOF', detail: 'invoice\\u202efdp.exe: U+202E' });
  });

  it('turns a Windows Installer compound file into the blocked type msi, whatever its name', async () => {
    expect(await detail([{ name: 'update.doc', data: ole2Of([{ name: 'SummaryInformation', type: 'stream' }], [0], MSI_CLSID) }], 'ATTACH_BLOCKED')).toBe('update.doc: msi content');
  });

  it('finds HTML and archives dressed as PDFs or images', async () => {
    expect(await detail([{ name: 'statement.pdf', data: Buffer.from('<!DOCTYPE html><html><form action="https://x.example/">') }], 'ATTACH_TYPE_MISMATCH')).toBe('statement.pdf: .pdf is html');
    expect(await detail([{ name: 'photo.jpg', data: zipOf([{ name: 'a.txt', data: 'x' }]) }], 'ATTACH_TYPE_MISMATCH')).toBe('photo.jpg: .jpg is zip');
  });
});

describe('archives', () => {
  it('judges zip entries by name and by content, with their path', async () => {
    const z = zipOf([{ name: 'docs/readme.txt', data: 'hello' }, { name: 'docs/setup.exe', data: 'x' }, { name: 'docs/photo.png', data: peStub() }]);
    const f = await findings([{ name: 'invoice.zip', data: z }]);
    expect(f.find((x) => x.symbol === 'ATTACH_BLOCKED')?.detail).toBe('invoice.zip/docs/setup.exe: .exe; invoice.zip/docs/photo.png: exe content');
    expect(f.find((x) => x.symbol === 'ATTACH_TYPE_MISMATCH')?.detail).toBe('invoice.zip/docs/photo.png: .png is exe');
  });

  it('opens zips in zips down to maxDepth, and says where it stopped', async () => {
    const inner = zipOf([{ name: 'payload.exe', data: peStub() }]);
    const two = zipOf([{ name: 'inner.zip', data: inner }]);
    const three = zipOf([{ name: 'two.zip', data: two }]);
    expect(await detail([{ name: 'three.zip', data: three }], 'ATTACH_BLOCKED')).toBe('three.zip/two.zip/inner.zip/payload.exe: .exe; three.zip/two.zip/inner.zip/payload.exe: exe content');
    const f = await findings([{ name: 'three.zip', data: three }], { archives: { maxDepth: 2 } });
    expect(f).toEqual([{ symbol: 'ATTACH_ARCHIVE_LIMIT', detail: 'three.zip/two.zip/inner.zip: nested deeper than 2' }]);
  });

  it('flags encrypted entries: our writer and a real `zip -P`', async () => {
    expect(await detail([{ name: 'x.zip', data: zipOf([{ name: 'doc.txt', data: 'x', method: 'store', encrypted: true }]) }], 'ATTACH_ENCRYPTED_ARCHIVE')).toBe('x.zip/doc.txt: encrypted zip entry');
    const dir = await makeScratchDir('moat-zip-');
    await writeFile(join(dir, 'invoice.exe'), peStub());
    execFileSync('/usr/bin/zip', ['-q', '-j', '-P', 'pw1234', join(dir, 'enc.zip'), join(dir, 'invoice.exe')]);
    const f = await findings([{ name: 'Invoice_2025.zip', data: await readFile(join(dir, 'enc.zip')) }]);
    expect(f.map((x) => x.symbol).sort()).toEqual(['ATTACH_BLOCKED', 'ATTACH_ENCRYPTED_ARCHIVE']);
    expect(f).toContainEqual({ symbol: 'ATTACH_BLOCKED', detail: 'Invoice_2025.zip/invoice.exe: .exe' });
  });

  it('does not inflate a zip bomb, and bounds entries and inflated octets', async () => {
    const bomb = zipOf([{ name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await detail([{ name: 'b.zip', data: bomb }], 'ATTACH_ARCHIVE_BOMB')).toMatch(/^b\.zip\/zeros\.bin: 20971520 octets from \d+ \(ratio \d+\)$/);
    const many = zipOf(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' })));
    expect(await detail([{ name: 'm.zip', data: many }], 'ATTACH_ARCHIVE_LIMIT', { archives: { maxEntries: 10 } })).toBe('m.zip: more than 10 archive entries');
    const nested = zipOf([{ name: 'big.zip', data: zipOf([{ name: 'a.txt', data: 'y'.repeat(200_000), method: 'store' }]) }]);
    expect(await detail([{ name: 'n.zip', data: nested }], 'ATTACH_ARCHIVE_LIMIT', { archives: { maxTotal: 100_000 } })).toBe('n.zip/big.zip: over 100000 inflated octets');
  });

  it('calls truncated zips and bad central directories corrupt, never crashes', async () => {
    const good = zipOf([{ name: 'a.txt', data: 'hello world' }]);
    expect(await detail([{ name: 'cut.zip', data: good.subarray(0, good.length - 10) }], 'ATTACH_ARCHIVE_CORRUPT')).toMatch(/^cut\.zip: /);
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0xdeadbeef, good.length - 22 - 46 - 5);
    expect(await detail([{ name: 'bad.zip', data: bad }], 'ATTACH_ARCHIVE_CORRUPT')).toMatch(/^bad\.zip: /);
    const lying = zipOf([{ name: 'a.txt', data: 'x'.repeat(5000), declaredSize: 10 }]);
    expect(await symbols([{ name: 'lie.zip', data: lying }])).toContain('ATTACH_ARCHIVE_CORRUPT');
  });

  it('lists gzip and tar: a tar.gz with an executable, a .gz with its original name', async () => {
    const tgz = gzipSync(tarOf([{ name: 'readme.txt', data: 'hi' }, { name: 'bin/run.scr', data: 'x' }]));
    expect(await detail([{ name: 'release.tar.gz', data: tgz }], 'ATTACH_BLOCKED')).toBe('release.tar.gz/release.tar/bin/run.scr: .scr');
    const gz = Buffer.from(gzipSync(peStub()));
    // FNAME "evil.exe" (RFC 1952 §2.3.1): flags bit 3 and the name after the 10-octet header.
    const named = Buffer.concat([gz.subarray(0, 3), Buffer.from([0x08]), gz.subarray(4, 10), Buffer.from('evil.exe\0', 'latin1'), gz.subarray(10)]);
    expect(await detail([{ name: 'data.gz', data: named }], 'ATTACH_BLOCKED')).toBe('data.gz/evil.exe: .exe; data.gz/evil.exe: exe content');
    const gzBomb = gzipSync(Buffer.alloc(30 * 1024 * 1024));
    expect(await symbols([{ name: 'z.gz', data: gzBomb }], { archives: { maxTotal: 8 * 1024 * 1024 } })).toEqual(['ATTACH_ARCHIVE_BOMB']);
  });

  it('lists RAR 5 and RAR 4 names and their encryption, without unpacking', async () => {
    expect(await symbols([{ name: 'a.rar', data: rar5Of(['docs/invoice.pdf', 'docs/invoice.pdf.exe']) }])).toEqual(['ATTACH_ARCHIVE_OPAQUE', 'ATTACH_BLOCKED', 'ATTACH_DOUBLE_EXTENSION']);
    expect(await detail([{ name: 'b.rar', data: rar5Of(['x.txt'], { encryptedFiles: true }) }], 'ATTACH_ENCRYPTED_ARCHIVE')).toBe('b.rar: encrypted RAR 5');
    expect(await detail([{ name: 'c.rar', data: rar5Of([], { encryptedHeaders: true }) }], 'ATTACH_ENCRYPTED_ARCHIVE')).toBe('c.rar: encrypted RAR 5');
    expect(await detail([{ name: 'd.rar', data: rar4Of(['setup.com'], { encrypted: true }) }], 'ATTACH_BLOCKED')).toBe('d.rar/setup.com: .com');
    expect(await symbols([{ name: 'd.rar', data: rar4Of(['readme.txt'], { encrypted: true }) }])).toEqual(['ATTACH_ARCHIVE_OPAQUE', 'ATTACH_ENCRYPTED_ARCHIVE']);
  });

  it('calls archives it cannot open opaque (7z)', async () => {
    const sevenZip = Buffer.concat([Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), Buffer.alloc(64)]);
    expect(await findings([{ name: 'a.7z', data: sevenZip }])).toEqual([{ symbol: 'ATTACH_ARCHIVE_OPAQUE', detail: 'a.7z: 7z' }]);
  });
});

describe('active content in documents', () => {
  it('finds VBA in OLE2 documents (Macros/VBA storages), not in plain ones; and encrypted OOXML packages', async () => {
    expect(await detail([{ name: 'order.doc', data: wordDoc(true) }], 'ATTACH_OFFICE_MACRO')).toBe('order.doc: VBA project');
    expect(await symbols([{ name: 'order.doc', data: wordDoc(false) }])).toEqual([]);
    const xls = ole2Of([{ name: 'Workbook', type: 'stream' }, { name: '_VBA_PROJECT_CUR', type: 'storage', children: [2] }, { name: 'VBA', type: 'storage' }], [0, 1]);
    expect(await symbols([{ name: 'sheet.xls', data: xls }])).toEqual(['ATTACH_OFFICE_MACRO']);
    const enc = ole2Of([{ name: 'EncryptionInfo', type: 'stream' }, { name: 'EncryptedPackage', type: 'stream' }], [0, 1]);
    expect(await detail([{ name: 'salary.xlsx', data: enc }], 'ATTACH_ENCRYPTED_ARCHIVE')).toBe('salary.xlsx: encrypted Office document');
  });

  it('finds vbaProject.bin in OOXML, and macro-enabled extensions', async () => {
    const docx = (withVba: boolean): Buffer =>
      zipOf([
        { name: '[Content_Types].xml', data: '<Types/>' },
        { name: 'word/document.xml', data: '<w:document/>' },
        ...(withVba ? [{ name: 'word/vbaProject.bin', data: wordDoc(true) }] : []),
      ]);
    expect(await detail([{ name: 'offer.docx', data: docx(true) }], 'ATTACH_OFFICE_MACRO')).toBe('offer.docx: word/vbaProject.bin; offer.docx/word/vbaProject.bin: VBA project');
    expect(await symbols([{ name: 'offer.docx', data: docx(false) }])).toEqual([]);
    expect(await detail([{ name: 'budget.xlsm', data: docx(false) }], 'ATTACH_OFFICE_MACRO')).toBe('budget.xlsm: .xlsm');
  });

  it('finds JavaScript and Launch actions in PDFs, also written with #xx escapes', async () => {
    expect(await detail([{ name: 'a.pdf', data: pdfOf('/OpenAction << /S /JavaScript /JS (app.alert(1)) >>') }], 'ATTACH_PDF_JS')).toBe('a.pdf: /JS /JavaScript');
    expect(await detail([{ name: 'b.pdf', data: pdfOf('/OpenAction << /S /J#61vaScript >>') }], 'ATTACH_PDF_JS')).toBe('b.pdf: /JavaScript');
    expect(await detail([{ name: 'c.pdf', data: pdfOf('/OpenAction << /S /Launch /F (cmd.exe) >>') }], 'ATTACH_PDF_JS')).toBe('c.pdf: /Launch');
    expect(await symbols([{ name: 'd.pdf', data: pdfOf('/Metadata 3 0 R /JSON (no) /JavaScriptish 1') }])).toEqual([]);
  });
});

describe('the action for blocked attachments', () => {
  async function verdict(config: Record<string, unknown>) {
    const check = attachmentsCheck(attachmentsSchema.parse(config));
    const entries = [{ check, observe: false, failOpen: false }];
    const policy = createPolicy(entries, policySchema.parse({}));
    const p = new PipelineSession({ checks: entries, policy, isLocal: () => true }, session());
    const raw = messageWith([{ name: 'invoice.pdf', data: peStub() }]);
    const v = await p.data(messageView(raw, raw.length, async function* () {}), { from: null, recipients: [] }, AbortSignal.timeout(10_000));
    return { v, reply: v.action === 'reject' ? replyToString(decisionReply(policy, 'reject', v.decidedBy, 'data')) : null };
  }

  it('rejects with 554 5.7.1 by default, quarantines or only scores as configured', async () => {
    const d = await verdict({});
    expect(d.v.action).toBe('reject');
    expect(d.v.decidedBy?.symbol).toBe('ATTACH_BLOCKED');
    expect(d.reply).toBe('554 5.7.1 Message rejected: it carries an attachment type that is not accepted here');
    expect((await verdict({ action: 'quarantine' })).v.action).toBe('quarantine');
    const none = await verdict({ action: 'none' });
    expect(none.v.decidedBy).toBeNull();
    expect(none.v.score).toBe(13);
  });

  it('validates the block lists', () => {
    expect(attachmentsSchema.parse({ block: { extensions: ['exe', 'scr'] } }).block.extensions).toEqual(['exe', 'scr']);
    const r = attachmentsSchema.safeParse({ block: { types: ['zip', '.EXE'] } });
    expect(r.error?.issues[0]?.path).toEqual(['block', 'types', 1]);
    expect(r.error?.issues[0]?.message).toBe('expected a type name in lower case without the dot, e.g. "exe"');
  });
});
