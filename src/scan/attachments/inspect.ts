/**
 * Judges one file — an attachment or an entry of an archive — by its name and its real type, and
 * opens the containers it can (zip and OOXML with yauzl, gzip and tar with node:zlib, RAR headers,
 * OLE2 directories, PDFs), judging each entry by the same rules one level deeper. Everything it
 * finds goes into a Report as symbol + detail ("invoice.zip/setup.exe: .exe").
 * Bounded per message (InspectLimits): containers nested at most maxDepth deep, maxEntries
 * entries and maxTotal inflated octets over all archives; an entry whose declared size is more
 * than maxRatio times its compressed size (and over 1 MiB) is a bomb and is not inflated; only
 * the first 4 KiB of an entry are inflated unless it is itself a container, an OLE2 file or a PDF.
 * What the bounds keep us from seeing is reported (ATTACH_ARCHIVE_LIMIT), never guessed.
 * Trusts nothing; never throws: a malformed container is ATTACH_ARCHIVE_CORRUPT.
 */
import type { SniffedType } from '../mime/types.js';
import { sniffType } from '../mime/sniff.js';
import { gunzipBounded, isGzip, isTar, tarEntries } from './gzip-tar.js';
import { baseName, cleanName, displayName, doubleExtension, extensions, spoofCharacters, typeMismatch } from './names.js';
import { isOle2, oleFindings, readOleDirectory } from './ole2.js';
import { isPdf, pdfActiveContent } from './pdf.js';
import { isRar, listRar } from './rar.js';
import { openZip, type ZipArchive, type ZipEntryInfo } from './zip.js';

export interface InspectLimits {
  readonly maxDepth: number;
  readonly maxEntries: number;
  readonly maxTotal: number;
  readonly maxRatio: number;
}

export interface InspectPolicy {
  readonly blockedExtensions: ReadonlySet<string>;
  readonly blockedTypes: ReadonlySet<string>;
}

export interface Item {
  /** Where it is, for details: "invoice.zip/setup.exe". */
  readonly path: string;
  readonly name: string | null;
  readonly content: Buffer;
  /** `content` is the whole file. */
  readonly complete: boolean;
  readonly sniffed: SniffedType | null;
  /** Containers around it: 0 for a message part. */
  readonly depth: number;
}

export class Report {
  private readonly found = new Map<string, string[]>();
  add(symbol: string, detail: string): void {
    const list = this.found.get(symbol) ?? [];
    if (!list.includes(detail)) list.push(detail);
    this.found.set(symbol, list);
  }
  has(symbol: string): boolean {
    return this.found.has(symbol);
  }
  details(symbol: string): readonly string[] {
    return this.found.get(symbol) ?? [];
  }
  symbols(): string[] {
    return [...this.found.keys()];
  }
}

interface Context {
  readonly limits: InspectLimits;
  readonly policy: InspectPolicy;
  readonly report: Report;
  readonly signal: AbortSignal;
  entries: number;
  bytes: number;
}

const HEAD = 4096;
const BOMB_FLOOR = 1024 * 1024;
const MACRO_EXTENSIONS = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'pptm', 'potm', 'ppam', 'ppsm', 'sldm']);
const OPAQUE = new Set(['7z', 'bz2', 'xz', 'cab', 'arj', 'ace', 'lzh', 'lz', 'lz4', 'zst', 'cpio', 'dmg', 'ar', 'deb', 'rpm']);
const ISO_MAGIC = Buffer.from('CD001');

/** The sniffed type, sharpened: an OLE2 installer is "msi", an ISO 9660 image "iso". */
function realType(item: Item): SniffedType | null {
  const c = item.content;
  if (item.sniffed?.ext === 'cfb' || (item.sniffed === null && isOle2(c))) {
    const dir = readOleDirectory(c);
    if (dir && oleFindings(dir).installer) return { mime: 'application/x-msi', ext: 'msi' };
    return item.sniffed ?? { mime: 'application/x-cfb', ext: 'cfb' };
  }
  if (item.sniffed === null && c.length >= 0x8006 && c.subarray(0x8001, 0x8006).equals(ISO_MAGIC)) return { mime: 'application/x-iso9660-image', ext: 'iso' };
  return item.sniffed;
}

function judgeName(item: Item, type: SniffedType | null, ctx: Context): void {
  if (item.name === null) return;
  const r = ctx.report;
  const spoof = spoofCharacters(item.name);
  if (spoof.length > 0) r.add('ATTACH_NAME_SPOOF', `${item.path}: ${spoof.join(' ')}`);
  const ext = extensions(item.name).at(-1);
  if (ext !== undefined && ctx.policy.blockedExtensions.has(ext)) r.add('ATTACH_BLOCKED', `${item.path}: .${ext}`);
  const dbl = doubleExtension(item.name, ctx.policy.blockedExtensions);
  if (dbl !== null) r.add('ATTACH_DOUBLE_EXTENSION', `${item.path}: ${dbl}`);
  if (ext !== undefined && MACRO_EXTENSIONS.has(ext)) r.add('ATTACH_OFFICE_MACRO', `${item.path}: .${ext}`);
  const mismatch = typeMismatch(item.name, type);
  if (mismatch !== null) r.add('ATTACH_TYPE_MISMATCH', `${item.path}: ${mismatch}`);
}

/** Judges one file and, within the bounds, what it contains. */
export async function inspect(item: Item, ctx: Context): Promise<void> {
  const type = realType(item);
  judgeName(item, type, ctx);
  if (type !== null && ctx.policy.blockedTypes.has(type.ext)) ctx.report.add('ATTACH_BLOCKED', `${item.path}: ${type.ext} content`);
  const c = item.content;
  const container = type?.ext === 'zip' || c.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')) || isGzip(c) || isTar(c) || isRar(c);
  if (container && item.depth >= ctx.limits.maxDepth) {
    ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: nested deeper than ${ctx.limits.maxDepth}`);
    return;
  }
  if (!item.complete && (container || isOle2(c) || isPdf(c))) {
    // A cut file cannot be opened reliably (a zip's directory is at its end): say so, guess nothing.
    if (!ctx.report.details('ATTACH_ARCHIVE_LIMIT').some((d) => d.startsWith(`${item.path}: `))) ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: not inspected whole (size or scan limit)`);
    if (!isRar(c)) return;
  }
  if (isRar(c)) return rar(item, ctx);
  if (c.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')) || c.subarray(0, 4).equals(Buffer.from('PK\x05\x06', 'latin1'))) return zip(item, ctx);
  if (isGzip(c)) return gzip(item, ctx);
  if (isTar(c)) return tar(item, ctx);
  if (isOle2(c)) {
    const dir = readOleDirectory(c);
    if (dir === null) ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: unreadable OLE2 directory`);
    else {
      const f = oleFindings(dir);
      if (f.macros) ctx.report.add('ATTACH_OFFICE_MACRO', `${item.path}: VBA project`);
      if (f.encrypted) ctx.report.add('ATTACH_ENCRYPTED_ARCHIVE', `${item.path}: encrypted Office document`);
    }
    return;
  }
  if (isPdf(c)) {
    const active = pdfActiveContent(c);
    if (active.length > 0) ctx.report.add('ATTACH_PDF_JS', `${item.path}: /${active.join(' /')}`);
    return;
  }
  if (type !== null && OPAQUE.has(type.ext)) ctx.report.add('ATTACH_ARCHIVE_OPAQUE', `${item.path}: ${type.ext}`);
}

function child(parent: Item, name: string): string {
  return `${parent.path}/${displayName(name)}`;
}

/** Entries left in the message-wide budget; a limit finding when there are none. */
function entryRoom(item: Item, ctx: Context): number {
  const room = ctx.limits.maxEntries - ctx.entries;
  if (room <= 0) ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: more than ${ctx.limits.maxEntries} archive entries`);
  return Math.max(0, room);
}

/** Takes `found` entries of a container that offered `declared` from a budget of `room`. */
function takeEntries(item: Item, declared: number, room: number, ctx: Context): number {
  if (declared > room) ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: more than ${ctx.limits.maxEntries} archive entries`);
  const n = Math.min(declared, room);
  ctx.entries += n;
  return n;
}

function needsWhole(name: string, head: SniffedType | null, headBytes: Buffer): boolean {
  const ext = extensions(name).at(-1) ?? '';
  return (
    ['zip', 'jar', 'apk', 'docx', 'xlsx', 'pptx', 'docm', 'xlsm', 'pptm', 'odt', 'ods', 'odp', 'gz', 'tgz', 'tar', 'rar', 'doc', 'xls', 'ppt', 'pdf', 'bin', 'msi'].includes(ext) ||
    ['zip', 'gz', 'tar', 'rar', 'cfb', 'pdf', 'docx', 'xlsx', 'pptx', 'jar', 'apk', 'epub'].includes(head?.ext ?? '') ||
    isOle2(headBytes) ||
    headBytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))
  );
}

async function zipEntry(item: Item, archive: ZipArchive, e: ZipEntryInfo, ctx: Context): Promise<void> {
  const path = child(item, e.name);
  const r = ctx.report;
  if (e.encrypted) r.add('ATTACH_ENCRYPTED_ARCHIVE', `${path}: encrypted zip entry`);
  if (/(?:^|\/)vbaproject\.bin$/i.test(e.name) || /^xl\/macrosheets\//i.test(e.name)) r.add('ATTACH_OFFICE_MACRO', `${item.path}: ${displayName(e.name)}`);
  const ratio = e.uncompressedSize / Math.max(1, e.compressedSize);
  if (e.uncompressedSize > BOMB_FLOOR && ratio > ctx.limits.maxRatio) {
    r.add('ATTACH_ARCHIVE_BOMB', `${path}: ${e.uncompressedSize} octets from ${e.compressedSize} (ratio ${Math.round(ratio)})`);
    judgeName({ path, name: e.name, content: Buffer.alloc(0), complete: false, sniffed: null, depth: item.depth + 1 }, null, ctx);
    return;
  }
  if (!e.readable) {
    judgeName({ path, name: e.name, content: Buffer.alloc(0), complete: false, sniffed: null, depth: item.depth + 1 }, null, ctx);
    return;
  }
  const headMax = Math.min(HEAD, ctx.limits.maxTotal - ctx.bytes);
  let got = headMax > 0 ? await archive.read(e, headMax) : { data: Buffer.alloc(0), complete: e.uncompressedSize === 0 };
  if ('error' in got) {
    r.add('ATTACH_ARCHIVE_CORRUPT', `${path}: ${got.error}`);
    judgeName({ path, name: e.name, content: Buffer.alloc(0), complete: false, sniffed: null, depth: item.depth + 1 }, null, ctx);
    return;
  }
  ctx.bytes += got.data.length;
  const head = await sniffType(got.data);
  if (!got.complete && needsWhole(e.name, head, got.data)) {
    if (ctx.bytes + e.uncompressedSize > ctx.limits.maxTotal) r.add('ATTACH_ARCHIVE_LIMIT', `${path}: over ${ctx.limits.maxTotal} inflated octets`);
    else {
      const whole = await archive.read(e, e.uncompressedSize + 1);
      if ('error' in whole) r.add('ATTACH_ARCHIVE_CORRUPT', `${path}: ${whole.error}`);
      else {
        ctx.bytes += whole.data.length;
        got = whole;
      }
    }
  }
  await inspect({ path, name: e.name, content: got.data, complete: got.complete, sniffed: head, depth: item.depth + 1 }, ctx);
}

async function zip(item: Item, ctx: Context): Promise<void> {
  const room = entryRoom(item, ctx);
  if (room === 0) return;
  const archive = await openZip(item.content, room);
  if (!('entries' in archive)) {
    ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: ${archive.error}`);
    return;
  }
  try {
    if (archive.error !== null) ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: ${archive.error}`);
    takeEntries(item, Math.max(archive.declaredEntries, archive.entries.length), room, ctx);
    for (const e of archive.entries) {
      if (ctx.signal.aborted) {
        ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: deadline passed`);
        return;
      }
      if (!e.directory) await zipEntry(item, archive, e, ctx);
    }
  } finally {
    archive.close();
  }
}

async function gzip(item: Item, ctx: Context): Promise<void> {
  const out = await gunzipBounded(item.content, Math.max(0, ctx.limits.maxTotal - ctx.bytes));
  ctx.bytes += out.data.length;
  if (out.error !== null) ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: ${out.error}`);
  const ratio = out.data.length / Math.max(1, item.content.length);
  if (!out.complete && out.error === null) {
    if (ratio > ctx.limits.maxRatio && out.data.length > BOMB_FLOOR) ctx.report.add('ATTACH_ARCHIVE_BOMB', `${item.path}: inflates past ${out.data.length} octets from ${item.content.length}`);
    else ctx.report.add('ATTACH_ARCHIVE_LIMIT', `${item.path}: over ${ctx.limits.maxTotal} inflated octets`);
  }
  const outer = item.name ?? '';
  const name = out.name ?? (/\.t?gz$/i.test(outer) ? baseName(cleanName(outer)).replace(/\.tgz$/i, '.tar').replace(/\.gz$/i, '') : 'gzip content');
  const room = entryRoom(item, ctx);
  if (takeEntries(item, 1, room, ctx) === 0) return;
  await inspect({ path: child(item, name), name, content: out.data, complete: out.complete, sniffed: await sniffType(out.data), depth: item.depth + 1 }, ctx);
}

async function tar(item: Item, ctx: Context): Promise<void> {
  const room = entryRoom(item, ctx);
  const { entries, error } = tarEntries(item.content, room + 1);
  if (error !== null) ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: ${error}`);
  const n = takeEntries(item, entries.length, room, ctx);
  for (const e of entries.slice(0, n)) {
    if (ctx.signal.aborted) return;
    await inspect({ path: child(item, e.name), name: e.name, content: e.data, complete: e.data.length === e.size, sniffed: await sniffType(e.data), depth: item.depth + 1 }, ctx);
  }
}

async function rar(item: Item, ctx: Context): Promise<void> {
  const room = entryRoom(item, ctx);
  const listing = listRar(item.content, room + 1);
  if (listing === null) return;
  if (listing.error !== null && item.complete) ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${item.path}: ${listing.error}`);
  if (listing.encrypted) ctx.report.add('ATTACH_ENCRYPTED_ARCHIVE', `${item.path}: encrypted RAR ${listing.version}`);
  // RAR content is not unpacked: names are judged, the content stays unseen.
  ctx.report.add('ATTACH_ARCHIVE_OPAQUE', `${item.path}: rar`);
  const n = takeEntries(item, listing.names.length, room, ctx);
  for (const name of listing.names.slice(0, n)) judgeName({ path: child(item, name), name, content: Buffer.alloc(0), complete: false, sniffed: null, depth: item.depth + 1 }, null, ctx);
}

/** A fresh per-message context. */
export function inspection(limits: InspectLimits, policy: InspectPolicy, signal: AbortSignal): Context {
  return { limits, policy, report: new Report(), signal, entries: 0, bytes: 0 };
}
