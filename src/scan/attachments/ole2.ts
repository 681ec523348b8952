/**
 * The directory of an OLE2 compound file ([MS-CFB]: .doc, .xls, .ppt, .msi, .msg, and the
 * vbaProject.bin inside OOXML), read just far enough to name its storages and streams: the header
 * (§2.2), the FAT sector numbers from the header's DIFAT and the DIFAT chain (§2.5), the FAT
 * sectors (§2.3) and the directory chain (§2.6). Enough to see VBA macros (a "Macros" storage in
 * Word, "_VBA_PROJECT_CUR" in Excel, "VBA"/"_VBA_PROJECT" in any VBA project, [MS-OVBA] §2.2),
 * an encrypted OOXML package ("EncryptedPackage", [MS-OFFCRYPTO] §2.3.4.4) and, by the root
 * entry's CLSID, a Windows Installer package (MSI, MSP, MST).
 * Trusts nothing: every sector number, chain and count is checked against the buffer; loops and
 * overlong chains stop the walk. Bounded: at most MAX_ENTRIES entries. Never throws: a file that
 * is not (or no longer) a compound file gives null.
 */

export interface OleDirectory {
  /** Storage and stream names, in directory order. */
  readonly names: readonly { readonly name: string; readonly type: 'storage' | 'stream' | 'root' }[];
  /** The root entry's CLSID, as "000c1084-0000-0000-c000-000000000046". */
  readonly rootClsid: string;
}

const SIGNATURE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const MAX_ENTRIES = 4096;
const FREESECT = 0xffffffff;
const ENDOFCHAIN = 0xfffffffe;
const MAX_REGSECT = 0xfffffffa;

export function isOle2(b: Buffer): boolean {
  return b.length >= 512 && b.subarray(0, 8).equals(SIGNATURE);
}

function clsid(b: Buffer): string {
  const hex = (x: Buffer): string => x.toString('hex');
  const le = (x: Buffer): string => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

export function readOleDirectory(b: Buffer): OleDirectory | null {
  if (!isOle2(b)) return null;
  const shift = b.readUInt16LE(0x1e);
  if (b.readUInt16LE(0x1c) !== 0xfffe || (shift !== 9 && shift !== 12)) return null;
  const size = 1 << shift;
  const sectors = Math.ceil(b.length / size) - 1;
  const offset = (n: number): number => (n + 1) * size;
  // A sector number points inside the buffer (reads past its end are checked where they happen).
  const valid = (n: number): boolean => n <= MAX_REGSECT && n < sectors;
  const u32 = (pos: number): number => (pos + 4 <= b.length ? b.readUInt32LE(pos) : FREESECT);

  // FAT sector numbers: 109 in the header, then the DIFAT chain (each sector: size/4 - 1 numbers and a next pointer).
  const fatSectors: number[] = [];
  const numFat = b.readUInt32LE(0x2c);
  if (numFat > sectors) return null;
  for (let i = 0; i < 109 && fatSectors.length < numFat; i++) fatSectors.push(u32(0x4c + i * 4));
  let difat = b.readUInt32LE(0x44);
  const seenDifat = new Set<number>();
  while (fatSectors.length < numFat && valid(difat) && !seenDifat.has(difat)) {
    seenDifat.add(difat);
    const base = offset(difat);
    for (let i = 0; i < size / 4 - 1 && fatSectors.length < numFat; i++) fatSectors.push(u32(base + i * 4));
    difat = u32(base + size - 4);
  }
  const fat = (n: number): number => {
    const per = size / 4;
    const s = fatSectors[Math.floor(n / per)];
    if (s === undefined || !valid(s)) return ENDOFCHAIN;
    return u32(offset(s) + (n % per) * 4);
  };

  const names: { name: string; type: 'storage' | 'stream' | 'root' }[] = [];
  let root = '';
  let sector = b.readUInt32LE(0x30);
  const seen = new Set<number>();
  while (sector !== ENDOFCHAIN && valid(sector) && !seen.has(sector) && names.length < MAX_ENTRIES) {
    seen.add(sector);
    const base = offset(sector);
    for (let e = 0; e < size / 128; e++) {
      const at = base + e * 128;
      if (at + 128 > b.length) break;
      const type = b[at + 0x42];
      const len = b.readUInt16LE(at + 0x40);
      if ((type !== 1 && type !== 2 && type !== 5) || len < 2 || len > 64) continue;
      const name = b.subarray(at, at + len - 2).toString('utf16le');
      const kind = type === 5 ? 'root' : type === 1 ? 'storage' : 'stream';
      if (kind === 'root' && root === '') root = clsid(b.subarray(at + 0x50, at + 0x60));
      names.push({ name, type: kind });
    }
    sector = fat(sector);
  }
  return names.length === 0 ? null : { names, rootClsid: root };
}

const MSI_CLSIDS = new Set([
  '000c1084-0000-0000-c000-000000000046', // MSI package
  '000c1086-0000-0000-c000-000000000046', // MSP patch
  '000c1082-0000-0000-c000-000000000046', // MST transform
]);

export interface OleFindings {
  readonly macros: boolean;
  readonly encrypted: boolean;
  readonly installer: boolean;
}

export function oleFindings(d: OleDirectory): OleFindings {
  const has = (n: string, t?: string): boolean => d.names.some((x) => x.name.toLowerCase() === n.toLowerCase() && (t === undefined || x.type === t));
  return {
    macros: has('Macros', 'storage') || has('_VBA_PROJECT_CUR', 'storage') || has('VBA', 'storage') || has('_VBA_PROJECT', 'stream'),
    encrypted: has('EncryptedPackage', 'stream'),
    installer: MSI_CLSIDS.has(d.rootClsid),
  };
}
