/**
 * gzip (RFC 1952) and tar (POSIX.1-2001 ustar, with GNU long names and pax "path" records):
 * a gzip member is inflated with node:zlib (in its thread pool, not on the event loop) into at
 * most `max` octets, and its original file name read from the FNAME field (§2.3.1); a tar is
 * walked header by header, each checked by its checksum, giving names and content slices.
 * Trusts nothing: every size is checked against the buffer; a bad checksum or a header past the
 * end stops the walk with an error. Bounded by `max` octets and `maxEntries`. Never throws.
 */
import { createGunzip } from 'node:zlib';

export interface Inflated {
  readonly data: Buffer;
  /** The whole member was inflated within `max`. */
  readonly complete: boolean;
  /** The original name from the header, latin-1 (RFC 1952 §2.3.1), null when absent. */
  readonly name: string | null;
  readonly error: string | null;
}

export function isGzip(b: Buffer): boolean {
  return b.length >= 18 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8;
}

function gzipName(b: Buffer): string | null {
  const flags = b[3] ?? 0;
  if ((flags & 0x08) === 0) return null;
  let p = 10;
  if ((flags & 0x04) !== 0) p += 2 + (b.length >= 12 ? b.readUInt16LE(10) : 0);
  const end = b.indexOf(0, p);
  if (end < 0 || end - p > 1024) return null;
  return b.subarray(p, end).toString('latin1');
}

/** Inflates a gzip member into at most `max` octets. */
export function gunzipBounded(b: Buffer, max: number): Promise<Inflated> {
  const name = gzipName(b);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const z = createGunzip();
    const finish = (complete: boolean, error: string | null): void => {
      if (done) return;
      done = true;
      z.destroy();
      resolve({ data: Buffer.concat(chunks, n), complete, name, error });
    };
    z.on('data', (chunk: Buffer) => {
      const room = max - n;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        n = max;
        finish(false, null);
        return;
      }
      chunks.push(chunk);
      n += chunk.length;
    });
    z.on('end', () => finish(true, null));
    z.on('error', (e: Error) => finish(false, e.message.slice(0, 160)));
    z.end(b);
  });
}

export interface TarEntry {
  readonly name: string;
  readonly size: number;
  /** The content present in the buffer (shorter than size when the archive is cut). */
  readonly data: Buffer;
}

export function isTar(b: Buffer): boolean {
  return b.length >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar' && checksumOk(b, 0);
}

function checksumOk(b: Buffer, at: number): boolean {
  const field = b.subarray(at + 148, at + 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]{1,8}$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (b[at + i] ?? 0);
  return sum === parseInt(field, 8);
}

function str(b: Buffer, from: number, len: number): string {
  const s = b.subarray(from, from + len);
  const nul = s.indexOf(0);
  return (nul >= 0 ? s.subarray(0, nul) : s).toString('utf8');
}

function octal(b: Buffer, from: number, len: number): number {
  if (((b[from] ?? 0) & 0x80) !== 0) {
    // GNU base-256 for sizes of 8 GiB and more: far past any bound here.
    return Number.MAX_SAFE_INTEGER;
  }
  const s = str(b, from, len).trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : -1;
}

/** Regular-file entries of a tar, at most `maxEntries`. */
export function tarEntries(b: Buffer, maxEntries: number): { readonly entries: TarEntry[]; readonly error: string | null } {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | null = null;
  while (at + 512 <= b.length && entries.length < maxEntries) {
    if (b.subarray(at, at + 512).every((x) => x === 0)) return { entries, error: null };
    if (!checksumOk(b, at)) return { entries, error: `bad header checksum at ${at}` };
    const size = octal(b, at + 124, 12);
    if (size < 0) return { entries, error: `bad size at ${at}` };
    const type = String.fromCharCode(b[at + 156] ?? 0);
    const dataAt = at + 512;
    const data = b.subarray(dataAt, Math.min(b.length, dataAt + size));
    const prefix = b.subarray(at + 257, at + 262).toString('latin1') === 'ustar' ? str(b, at + 345, 155) : '';
    const plain = prefix !== '' ? `${prefix}/${str(b, at, 100)}` : str(b, at, 100);
    if (type === 'L') longName = str(data, 0, data.length);
    else if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      if (path !== undefined) longName = path;
    } else {
      if (type === '0' || type === '\0' || type === '7') entries.push({ name: longName ?? plain, size, data });
      longName = null;
    }
    if (size > b.length) return { entries, error: 'entry past the end' };
    at = dataAt + Math.ceil(size / 512) * 512;
  }
  return { entries, error: null };
}
