/**
 * attachments: policy by what a file really is and what its name claims (CONVENTIONS.md 3:
 * findings; the action of ATTACH_BLOCKED comes from `checks.attachments.action`, and every symbol
 * can be changed in `policy.symbols`). Each attachment of the shared MIME parse, and each entry
 * of the archives it contains (inspect.ts), is judged by name (names.ts: blocked extensions,
 * double extensions, bidi spoofing) and by real type (the parse's sniffed type: blocked types,
 * type mismatches), with Office macros (OLE2 and OOXML), PDF JavaScript, encrypted and opaque
 * archives and zip bombs found on the way.
 * Default: blocked executables are refused at end of data with 554 5.7.1, as Gmail and most
 * gateways do: the sender's own server tells its user at once, no bounce comes from us (no
 * backscatter), and the quarantine does not fill with malware nobody will release.
 * Trusts the parse. Does no I/O (inflating is in memory, bounded). Never throws on any message;
 * cannot fail transiently.
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import { attachmentRejected } from '../../smtp/reply.js';
import type { MimePart } from '../mime/types.js';
import type { AttachmentsConfig } from './config.js';
import { inspect, inspection, type InspectLimits, type InspectPolicy } from './inspect.js';
import { displayName } from './names.js';

export { attachmentsSchema, type AttachmentsConfig } from './config.js';

function symbols(c: AttachmentsConfig): SymbolDef[] {
  const action = c.action === 'none' ? {} : { action: c.action };
  return [
    {
      name: 'ATTACH_BLOCKED',
      description: 'An attachment (or archive entry) of a blocked type or extension: executables, scripts, installers, shortcuts, disk images',
      score: 10,
      ...action,
      reply: (a) => (a === 'reject' ? attachmentRejected() : null),
    },
    { name: 'ATTACH_DOUBLE_EXTENSION', description: 'A name that dresses a blocked type as a document (invoice.pdf.exe)', score: 3 },
    { name: 'ATTACH_NAME_SPOOF', description: 'Bidi or invisible characters in a file name (U+202E turns "x\\u202Efdp.exe" into "xexe.pdf" on screen)', score: 4 },
    { name: 'ATTACH_TYPE_MISMATCH', description: 'The name claims a harmless type and the content is an executable, archive or HTML page', score: 3 },
    { name: 'ATTACH_ENCRYPTED_ARCHIVE', description: 'An encrypted archive or Office document: no scanner can look inside (the password is often in the body)', score: 2 },
    { name: 'ATTACH_ARCHIVE_OPAQUE', description: 'An archive Moat cannot unpack (RAR contents, 7z, bz2, xz, cab, ...): names judged where possible, contents unseen', score: 0.5 },
    { name: 'ATTACH_ARCHIVE_BOMB', description: 'An archive entry that inflates far beyond its size (zip bomb)', score: 5 },
    { name: 'ATTACH_ARCHIVE_LIMIT', description: 'An archive was not inspected whole (nesting depth, entry count, inflated size or scan limit)', score: 0.5 },
    { name: 'ATTACH_ARCHIVE_CORRUPT', description: 'A malformed archive or compound file (scanners may skip what users can still open)', score: 1.5 },
    { name: 'ATTACH_OFFICE_MACRO', description: 'An Office document with VBA or Excel 4.0 macros (OLE2 Macros/VBA storages, OOXML vbaProject.bin, macro-enabled extensions)', score: 3 },
    { name: 'ATTACH_PDF_JS', description: 'A PDF with JavaScript or a Launch action', score: 3 },
  ];
}

function partName(p: MimePart): string {
  return p.filename !== null && p.filename !== '' ? displayName(p.filename) : `part ${p.path}`;
}

export function attachmentsCheck(c: AttachmentsConfig): Check {
  const limits: InspectLimits = c.archives;
  const policy: InspectPolicy = { blockedExtensions: new Set(c.block.extensions), blockedTypes: new Set(c.block.types) };
  return {
    name: 'attachments',
    symbols: symbols(c),
    open: () => ({
      data: async (message, _ctx, signal) => {
        const mime = await message.mime();
        const ctx = inspection(limits, policy, signal);
        for (const p of mime.attachments) {
          const path = partName(p);
          try {
            await inspect({ path, name: p.filename === '' ? null : p.filename, content: p.content, complete: !p.truncated, sniffed: p.sniffedType, depth: 0 }, ctx);
          } catch (e) {
            // A library failure on hostile input is a finding about the input, never a failed check.
            ctx.report.add('ATTACH_ARCHIVE_CORRUPT', `${path}: ${e instanceof Error ? e.message.slice(0, 120) : 'unreadable'}`);
          }
        }
        const out: Finding[] = [];
        for (const s of ctx.report.symbols()) {
          const d = ctx.report.details(s);
          out.push({ symbol: s, detail: d.slice(0, 5).join('; ') + (d.length > 5 ? `; +${d.length - 5}` : '') });
        }
        return out;
      },
    }),
  };
}
