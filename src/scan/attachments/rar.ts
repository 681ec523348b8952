/**
 * The file list of a RAR archive without unpacking it (RAR's compression is proprietary; we only
 * read headers): RAR 5 (rarlab "RAR 5.0 archive format": vint-coded headers, an archive
 * encryption header type 4 when the headers themselves are encrypted, a file encryption record
 * type 1 in a file header's extra area) and RAR 1.5–4 (blocks with HEAD_TYPE 0x73 main, 0x74
 * file; MHD_PASSWORD 0x0080 for encrypted headers, file flag 0x04 for an encrypted file). Names
 * are judged by the same policy as zip entries; the contents stay unseen.
 * Trusts nothing: every size is checked against the buffer and each header must move forward.
 * Bounded by `maxEntries`. Never throws.
 */

export interface RarListing {
  readonly version: 4 | 5;
  readonly names: readonly string[];
  /** Some file, or the whole header area, is encrypted. */
  readonly encrypted: boolean;
  /** The walk stopped on something that does not parse (cut archive or not a RAR). */
  readonly error: string | null;
}

const RAR5 = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);
const RAR4 = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00]);

export function isRar(b: Buffer): boolean {
  return b.subarray(0, 8).equals(RAR5) || b.subarray(0, 7).equals(RAR4);
}

/** RAR 5 variable-length integer: 7 bits per octet, high bit set on all but the last. */
function vint(b: Buffer, at: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    const x = b[at + i];
    if (x === undefined) return null;
    value += (x & 0x7f) * 2 ** (7 * i);
    if ((x & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return null;
}

function rar5(b: Buffer, maxEntries: number): RarListing {
  const names: string[] = [];
  let encrypted = false;
  let at = 8;
  const fail = (error: string): RarListing => ({ version: 5, names, encrypted, error });
  while (at < b.length && names.length < maxEntries) {
    const size = vint(b, at + 4);
    if (size === null || size.value === 0) return fail(`bad header at ${at}`);
    const headerEnd = size.next + size.value;
    if (headerEnd > b.length) return fail('header past the end');
    const type = vint(b, size.next);
    const flags = type && vint(b, type.next);
    if (!type || !flags) return fail(`bad header at ${at}`);
    let p = flags.next;
    let extra = 0;
    let data = 0;
    if (flags.value & 1) {
      const e = vint(b, p);
      if (!e) return fail('bad extra size');
      extra = e.value;
      p = e.next;
    }
    if (flags.value & 2) {
      const d = vint(b, p);
      if (!d) return fail('bad data size');
      data = d.value;
      p = d.next;
    }
    if (type.value === 4) return { version: 5, names, encrypted: true, error: null };
    if (type.value === 5) break;
    if (type.value === 2) {
      const fileFlags = vint(b, p);
      const unpacked = fileFlags && vint(b, fileFlags.next);
      const attrs = unpacked && vint(b, unpacked.next);
      if (!fileFlags || !attrs) return fail('bad file header');
      let q = attrs.next + (fileFlags.value & 2 ? 4 : 0) + (fileFlags.value & 4 ? 4 : 0);
      const comp = vint(b, q);
      const host = comp && vint(b, comp.next);
      const nameLen = host && vint(b, host.next);
      if (!nameLen || nameLen.next + nameLen.value > headerEnd) return fail('bad file name');
      q = nameLen.next;
      if ((fileFlags.value & 1) === 0) names.push(b.subarray(q, q + nameLen.value).toString('utf8'));
      // Extra area records: size, type; type 1 is file encryption.
      let r = headerEnd - extra;
      while (r < headerEnd) {
        const rs = vint(b, r);
        const rt = rs && vint(b, rs.next);
        if (!rs || !rt || rs.value === 0) break;
        if (rt.value === 1) encrypted = true;
        r = rs.next + rs.value;
      }
    }
    const next = headerEnd + data;
    if (next <= at) return fail('header does not advance');
    at = next;
  }
  return { version: 5, names, encrypted, error: null };
}

function rar4(b: Buffer, maxEntries: number): RarListing {
  const names: string[] = [];
  let encrypted = false;
  let at = 7;
  const fail = (error: string): RarListing => ({ version: 4, names, encrypted, error });
  while (at + 7 <= b.length && names.length < maxEntries) {
    const type = b[at + 2];
    const flags = b.readUInt16LE(at + 3);
    const headSize = b.readUInt16LE(at + 5);
    if (headSize < 7 || at + headSize > b.length) return fail('header past the end');
    let add = flags & 0x8000 ? (at + 11 <= b.length ? b.readUInt32LE(at + 7) : -1) : 0;
    if (add < 0) return fail('header past the end');
    if (type === 0x73 && flags & 0x0080) return { version: 4, names, encrypted: true, error: null };
    if (type === 0x7b) break;
    if (type === 0x74) {
      if (headSize < 32) return fail('short file header');
      add = b.readUInt32LE(at + 7) + (flags & 0x100 && headSize >= 40 ? b.readUInt32LE(at + 32) * 2 ** 32 : 0);
      const nameAt = at + (flags & 0x100 ? 40 : 32);
      const nameLen = b.readUInt16LE(at + 26);
      if (nameAt + nameLen > at + headSize) return fail('bad file name');
      const raw = b.subarray(nameAt, nameAt + nameLen);
      const nul = raw.indexOf(0);
      if ((flags & 0xe0) !== 0xe0) names.push((nul >= 0 ? raw.subarray(0, nul) : raw).toString('latin1'));
      if (flags & 0x04) encrypted = true;
    }
    const next = at + headSize + add;
    if (next <= at) return fail('header does not advance');
    at = next;
  }
  return { version: 4, names, encrypted, error: null };
}

export function listRar(b: Buffer, maxEntries: number): RarListing | null {
  if (b.subarray(0, 8).equals(RAR5)) return rar5(b, maxEntries);
  if (b.subarray(0, 7).equals(RAR4)) return rar4(b, maxEntries);
  return null;
}
