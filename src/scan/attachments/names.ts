/**
 * What a file name says and hides: its real extension (after bidi controls and padding spaces are
 * taken out), double extensions that dress an executable as a document (invoice.pdf.exe,
 * "scan.jpg       .scr"), bidi and invisible characters that reorder or hide a name on screen
 * (U+202E RIGHT-TO-LEFT OVERRIDE turns "invoice\u202Efdp.exe" into "invoiceexe.pdf"; Unicode
 * UAX #9 §2 explicit formatting characters), and a name that lies about the content's real type
 * (claims .pdf, is a PE executable). Also the default block lists, in the spirit of the lists
 * Gmail and Exchange Online use for executable content.
 * Trusts nothing; pure functions; never throws.
 */
import type { SniffedType } from '../mime/types.js';

/** Executables, scripts, installers, shortcuts and disk images Windows, macOS or Java will run or mount. */
export const DEFAULT_BLOCKED_EXTENSIONS: readonly string[] = [
  'ade', 'adp', 'app', 'appx', 'appxbundle', 'application', 'bat', 'chm', 'cmd', 'com', 'cpl', 'diagcab', 'dll', 'exe', 'gadget', 'hta',
  'img', 'inf', 'ins', 'iso', 'isp', 'jar', 'jnlp', 'js', 'jse', 'library-ms', 'lnk', 'mde', 'msc', 'msh', 'msi', 'msix', 'msixbundle', 'msp',
  'mst', 'pif', 'ps1', 'ps1xml', 'psd1', 'psm1', 'reg', 'scf', 'scr', 'sct', 'settingcontent-ms', 'shb', 'shs', 'sys', 'url', 'vb', 'vbe',
  'vbs', 'vhd', 'vhdx', 'vxd', 'wsc', 'wsf', 'wsh', 'xbap', 'xll',
];

/** Real types (sniffed from the content) that run or install: PE, ELF, Mach-O, MSI, shortcuts, Java, Android, help files. */
export const DEFAULT_BLOCKED_TYPES: readonly string[] = ['exe', 'elf', 'macho', 'msi', 'lnk', 'class', 'jar', 'apk', 'chm', 'reg', 'iso'];

/** Types whose content runs (for ATTACH_TYPE_MISMATCH, whatever the block list says). */
const EXECUTABLE_TYPES = new Set(['exe', 'elf', 'macho', 'msi', 'lnk', 'class', 'jar', 'apk', 'chm', 'reg', 'dex', 'sh', 'py', 'pl']);
const ARCHIVE_TYPES = new Set(['zip', 'rar', '7z', 'gz', 'bz2', 'xz', 'tar', 'cab', 'arj', 'ace', 'lzh', 'lz', 'zst', 'cpio', 'iso', 'dmg', 'lz4']);
/** Extensions of files people open without a second thought: a document dressed so hides the real type. */
const HARMLESS_LOOKING = new Set([
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'txt', 'csv', 'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif',
  'tiff', 'webp', 'heic', 'mp3', 'mp4', 'wav', 'mov', 'avi', 'htm', 'html', 'eml', 'ics', 'vcf',
]);
/** Of those, the ones whose content cannot legitimately be an archive or an HTML page. */
const NOT_ARCHIVE_OR_HTML = new Set(['pdf', 'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif', 'tiff', 'webp', 'heic', 'mp3', 'mp4', 'wav', 'txt', 'csv']);

/** Bidi formatting (UAX #9: LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM ALM) and invisible characters. */
const SPOOF = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060\uFEFF\u00AD]/g;

/** The name with spoofing characters and the padding before its last extension removed. */
export function cleanName(name: string): string {
  return name.replace(SPOOF, '').replace(/[\s_]{3,}(?=\.[^.\s]+$)/u, '').trim();
}

/** The spoofing characters of a name, as code points (e.g. ["U+202E"]). */
export function spoofCharacters(name: string): string[] {
  return [...new Set(name.match(SPOOF) ?? [])].map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** The last path component (archive entries carry directories). */
export function baseName(name: string): string {
  return name.split(/[\\/]/).at(-1) ?? name;
}

/** Lower-case extensions of a base name, last one last: "a.tar.gz" → ["tar", "gz"]. */
export function extensions(name: string): string[] {
  const parts = cleanName(baseName(name)).toLowerCase().split('.');
  if (parts.length < 2) return [];
  return parts.slice(1).filter((p) => /^[a-z0-9_-]{1,20}$/.test(p));
}

/** "invoice.pdf.exe": a harmless-looking extension followed by a blocked one. */
export function doubleExtension(name: string, blocked: ReadonlySet<string>): string | null {
  const ext = extensions(name);
  const last = ext.at(-1);
  const before = ext.at(-2);
  if (last === undefined || before === undefined) return null;
  return blocked.has(last) && HARMLESS_LOOKING.has(before) ? `.${before}.${last}` : null;
}

/** The name claims one kind of content and the content is another that matters. */
export function typeMismatch(name: string, sniffed: SniffedType | null): string | null {
  if (sniffed === null) return null;
  const claimed = extensions(name).at(-1);
  if (claimed === undefined || claimed === sniffed.ext) return null;
  const real = sniffed.ext;
  if (EXECUTABLE_TYPES.has(real) && HARMLESS_LOOKING.has(claimed)) return `.${claimed} is ${real}`;
  if ((ARCHIVE_TYPES.has(real) || real === 'html') && NOT_ARCHIVE_OR_HTML.has(claimed)) return `.${claimed} is ${real}`;
  return null;
}

/** A name safe to put in logs: control, bidi and invisible characters shown as \u escapes, cut to 120. */
export function displayName(name: string): string {
  const shown = name.replace(/[\u0000-\u001f\u007f-\u009f\u202A-\u202E\u2066-\u2069\u200B-\u200F\u061C\u2060\uFEFF\u00AD]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}
