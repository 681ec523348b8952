/**
 * The real type of a part by its first octets (what attachment policy must trust, not the declared
 * Content-Type or filename): the `file-type` library's magic-number table (executables PE/ELF/
 * Mach-O, archives zip/rar/7z/gz, PDF, OLE2 as "cfb", OOXML, images, ...), plus the text formats it
 * leaves out on purpose: scripts by their "#!" line and HTML documents. Reads at most the first
 * 64 KiB of a part. Never throws: a failure of the library counts as "unknown".
 */
import { fileTypeFromBuffer } from 'file-type';
import type { SniffedType } from './types.js';

const HEAD = 64 * 1024;

function sniffText(b: Buffer): SniffedType | null {
  const start = b.subarray(0, 512).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '');
  if (start.startsWith('#!')) {
    const line = start.slice(2, start.search(/\r|\n|$/)).trim();
    const interp = /(?:^|\/)(?:env\s+)?([a-z]+)/i.exec(line)?.[1]?.toLowerCase() ?? '';
    if (interp.startsWith('python')) return { mime: 'text/x-python', ext: 'py' };
    if (interp.startsWith('perl')) return { mime: 'text/x-perl', ext: 'pl' };
    return { mime: 'text/x-shellscript', ext: 'sh' };
  }
  if (/^\s*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|script[\s>])/i.test(start)) return { mime: 'text/html', ext: 'html' };
  return null;
}

export async function sniffType(content: Buffer): Promise<SniffedType | null> {
  if (content.length < 2) return null;
  try {
    const t = await fileTypeFromBuffer(content.subarray(0, HEAD));
    if (t) return { mime: t.mime, ext: t.ext };
  } catch {
    // A corrupt archive header can make the library throw: unknown, as for no match.
  }
  return sniffText(content);
}
