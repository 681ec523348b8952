/**
 * A zip archive (APPNOTE.TXT) read from a Buffer with yauzl 3: its central directory entries
 * (names decoded from CP437 or UTF-8 and the Info-ZIP Unicode path field, sizes, the encryption
 * bit of §4.4.4) and, on request, the first octets of an entry's content. yauzl inflates with
 * node:zlib and stops an entry that inflates to more than it declares (validateEntrySizes), so a
 * lying header cannot make us read more than we asked for; we read at most `max` octets of an
 * entry and destroy its stream there.
 * Trusts nothing: errors of yauzl (no end-of-central-directory record, bad signatures, data past
 * the end, unsupported methods) become typed results. Never throws; never writes a file.
 */
import { fromBuffer, type Entry, type ZipFile } from 'yauzl';

export interface ZipEntryInfo {
  readonly name: string;
  readonly directory: boolean;
  readonly encrypted: boolean;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Stored or deflated and not encrypted: yauzl can give its content. */
  readonly readable: boolean;
  readonly entry: Entry;
}

export interface ZipArchive {
  /** Entries read from the central directory, at most the caller's bound. */
  readonly entries: readonly ZipEntryInfo[];
  /** What the end-of-central-directory record declares. */
  readonly declaredEntries: number;
  /** The central directory broke off after `entries` (the message of yauzl). */
  readonly error: string | null;
  /** Up to `max` octets of an entry's content; complete when the entry had no more. */
  read(e: ZipEntryInfo, max: number): Promise<{ readonly data: Buffer; readonly complete: boolean } | { readonly error: string }>;
  close(): void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 160);

function open(buf: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    try {
      fromBuffer(buf, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => (err ? reject(err) : resolve(zip)));
    } catch (e) {
      reject(e);
    }
  });
}

/** Opens `buf` and reads at most `maxEntries` entries of its central directory. */
export async function openZip(buf: Buffer, maxEntries: number): Promise<ZipArchive | { readonly error: string }> {
  let zip: ZipFile;
  try {
    zip = await open(buf);
  } catch (e) {
    return { error: message(e) };
  }
  const entries: ZipEntryInfo[] = [];
  let error: string | null = null;
  try {
    for await (const entry of zip.eachEntry()) {
      const encrypted = entry.isEncrypted();
      entries.push({
        name: entry.fileName,
        directory: entry.fileName.endsWith('/'),
        encrypted,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
        readable: !encrypted && entry.canDecodeFileData(),
        entry,
      });
      if (entries.length >= maxEntries) break;
    }
  } catch (e) {
    error = message(e);
  }
  return {
    entries,
    declaredEntries: zip.entryCount,
    error,
    read: async (e, max) => {
      try {
        const stream = await zip.openReadStreamPromise(e.entry);
        const chunks: Buffer[] = [];
        let n = 0;
        let complete = true;
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            const room = max - n;
            if (chunk.length > room) {
              if (room > 0) chunks.push(chunk.subarray(0, room));
              n = max;
              complete = false;
              break;
            }
            chunks.push(chunk);
            n += chunk.length;
          }
        } finally {
          stream.destroy();
        }
        return { data: Buffer.concat(chunks, n), complete };
      } catch (err) {
        return { error: message(err) };
      }
    },
    close: () => {
      try {
        zip.close();
      } catch {
        // Already closed: nothing to release for a Buffer.
      }
    },
  };
}
