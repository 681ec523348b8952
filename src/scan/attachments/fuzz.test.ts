// Malformed containers never crash the inspection and never run away: fast-check cuts and flips
// octets of valid zips, OOXML, OLE2, RAR, tar and gzip files and of random data, and every run must
// finish, within its bounds, with only the check's own symbols.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ole2Of, peStub, rar4Of, rar5Of, tarOf, wordDoc, zipOf } from '../../../test/fixtures/archives.js';
import { sniffType } from '../mime/sniff.js';
import { inspect, inspection } from './inspect.js';
import { DEFAULT_BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_TYPES } from './names.js';
import { readOleDirectory } from './ole2.js';
import { listRar } from './rar.js';
import { tarEntries } from './gzip-tar.js';

const SYMBOLS = new Set([
  'ATTACH_BLOCKED',
  'ATTACH_DOUBLE_EXTENSION',
  'ATTACH_NAME_SPOOF',
  'ATTACH_TYPE_MISMATCH',
  'ATTACH_ENCRYPTED_ARCHIVE',
  'ATTACH_ARCHIVE_OPAQUE',
  'ATTACH_ARCHIVE_BOMB',
  'ATTACH_ARCHIVE_LIMIT',
  'ATTACH_ARCHIVE_CORRUPT',
  'ATTACH_OFFICE_MACRO',
  'ATTACH_PDF_JS',
]);
const POLICY = { blockedExtensions: new Set(DEFAULT_BLOCKED_EXTENSIONS), blockedTypes: new Set(DEFAULT_BLOCKED_TYPES) };
const LIMITS = { maxDepth: 3, maxEntries: 200, maxTotal: 4 * 1024 * 1024, maxRatio: 250 };

const SEEDS: readonly Buffer[] = [
  zipOf([{ name: 'a.txt', data: 'hello' }, { name: 'b/setup.exe', data: peStub() }, { name: 'c.zip', data: zipOf([{ name: 'd.doc', data: wordDoc(true) }]) }]),
  zipOf([{ name: '[Content_Types].xml', data: '<Types/>' }, { name: 'word/vbaProject.bin', data: wordDoc(true) }]),
  wordDoc(true),
  ole2Of([{ name: 'EncryptedPackage', type: 'stream' }], [0]),
  rar5Of(['x/invoice.pdf.exe', 'y.txt'], { encryptedFiles: true }),
  rar4Of(['setup.com', 'readme.txt']),
  tarOf([{ name: 'a.txt', data: 'x' }, { name: 'run.scr', data: peStub() }]),
  gzipSync(tarOf([{ name: 'a/b.exe', data: peStub() }])),
];

async function run(content: Buffer): Promise<string[]> {
  const ctx = inspection(LIMITS, POLICY, AbortSignal.timeout(10_000));
  await inspect({ path: 'fuzz.bin', name: 'fuzz.bin', content, complete: true, sniffed: await sniffType(content), depth: 0 }, ctx);
  expect(ctx.entries).toBeLessThanOrEqual(LIMITS.maxEntries);
  return ctx.report.symbols();
}

const mutated = fc
  .tuple(fc.constantFrom(...SEEDS.keys()), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([i, flips, cut]) => {
    const b = Buffer.from(SEEDS[i] ?? Buffer.alloc(0));
    for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
    return cut === undefined || b.length === 0 ? b : b.subarray(0, cut % b.length);
  });

describe('malformed containers', () => {
  it('inspection of cut and flipped archives finishes with the check\'s own symbols', async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (b) => {
        for (const s of await run(b)) expect(SYMBOLS.has(s)).toBe(true);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('the header walkers take any octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom('ole', 'rar5', 'rar4', 'tar'), (a, kind) => {
        const prefix = { ole: wordDoc(false).subarray(0, 512), rar5: rar5Of([]).subarray(0, 8), rar4: rar4Of([]).subarray(0, 7), tar: Buffer.alloc(0) }[kind];
        const b = Buffer.concat([prefix, Buffer.from(a)]);
        readOleDirectory(b);
        listRar(b, 100);
        tarEntries(b, 100);
      }),
      { numRuns: 500 },
    );
  });
});
