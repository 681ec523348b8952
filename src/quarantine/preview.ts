/**
 * A safe preview of a quarantined message for the console, made in a worker (the supervisor and
 * the admin listener never parse mail, DESIGN.md §4): the header fields decoded, the text part,
 * the HTML part sanitised, and the attachments listed by name, declared and sniffed type and size —
 * their content is never handed out. The HTML is cleaned with sanitize-html to an allowlist of
 * presentational tags and attributes: no script, style element, form, frame, object or event
 * handler; links lose their target (kept as a title to read); images keep only data: sources (an
 * inline cid: image becomes one, up to a budget), so a remote image is replaced by a marker and
 * counted; style attributes that could fetch (url(), @import, expression) are dropped. The console
 * shows it in a sandboxed frame without scripts under a CSP that allows no remote content, so the
 * sanitiser is the second wall, not the only one.
 * Bounded: 256 KiB of text, 512 KiB of HTML in, 2 MiB of inline images, 200 header fields.
 */
import sanitizeHtml from 'sanitize-html';
import { messageView } from '../pipeline/message.js';
import type { VerdictSummary } from '../queue/record.js';
import type { StoredMessage } from '../queue/spool.js';
import { mimeParser, type MimePart } from '../scan/mime/index.js';

export interface PreviewAttachment {
  readonly path: string;
  readonly filename: string | null;
  readonly contentType: string;
  /** By magic bytes, when it differs from nothing known ("application/x-msdownload"). */
  readonly sniffedType: string | null;
  readonly size: number;
}

export interface QuarantinePreview {
  readonly id: string;
  readonly receivedAt: number;
  readonly from: string;
  readonly recipients: readonly string[];
  readonly client: { readonly ip: string; readonly helo: string; readonly tls: boolean };
  readonly size: number;
  readonly verdict: VerdictSummary | null;
  readonly subject: string | null;
  /** Our own trace and verdict fields, added in front of the message on delivery. */
  readonly added: readonly { readonly name: string; readonly value: string }[];
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly text: string;
  readonly textTruncated: boolean;
  /** The sanitised HTML body (a fragment), null when the message has no HTML part. */
  readonly html: string | null;
  readonly htmlTruncated: boolean;
  readonly remoteImagesBlocked: number;
  readonly attachments: readonly PreviewAttachment[];
  readonly problems: readonly string[];
}

const MAX_TEXT = 256 * 1024;
const MAX_HTML = 512 * 1024;
const MAX_INLINE_IMAGES = 2 * 1024 * 1024;
const MAX_FIELDS = 200;
const MAX_FIELD = 4000;
const PARSE_LIMIT = 10 * 1024 * 1024;

const parse = mimeParser();

const TAGS = [
  ...sanitizeHtml.defaults.allowedTags.filter((t) => t !== 'a'),
  'a', 'img', 'font', 'center', 'u', 's', 'small', 'big', 'span', 'div', 'hr', 'br', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'caption', 'col', 'colgroup',
];
const COMMON_ATTRS = ['style', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'border', 'cellpadding', 'cellspacing', 'dir', 'lang', 'title', 'colspan', 'rowspan'];
const FETCHING_STYLE = /url\s*\(|@import|expression\s*\(|behavior\s*:|-moz-binding|javascript:|image-set\s*\(/i;

function safeStyle(attribs: Readonly<Record<string, string>>): Record<string, string> {
  const { style, ...rest } = attribs;
  return style !== undefined && !FETCHING_STYLE.test(style) ? { ...rest, style } : rest;
}

function clean(html: string, inline: ReadonlyMap<string, string>): { html: string; blocked: number } {
  let blocked = 0;
  const out = sanitizeHtml(html, {
    allowedTags: TAGS,
    allowedAttributes: { '*': COMMON_ATTRS, img: [...COMMON_ATTRS, 'src', 'alt'], font: [...COMMON_ATTRS, 'face', 'size'] },
    allowedSchemes: [],
    allowedSchemesByTag: { img: ['data'] },
    allowedSchemesAppliedToAttributes: ['src', 'href', 'cite', 'action', 'background', 'poster', 'srcset'],
    allowProtocolRelative: false,
    allowedClasses: {},
    disallowedTagsMode: 'discard',
    // sanitize-html applies one transform per tag: the specific one, else '*'.
    transformTags: {
      '*': (tagName, attribs) => ({ tagName, attribs: safeStyle(attribs) }),
      a: (_tag, attribs) => ({ tagName: 'a', attribs: attribs['href'] ? { title: `Link to ${attribs['href'].slice(0, 500)}` } : {} }),
      img: (_tag, attribs) => {
        const src = (attribs['src'] ?? '').trim();
        const cid = /^cid:(.+)$/i.exec(src)?.[1];
        const data = cid ? inline.get(cid.toLowerCase()) : /^data:image\//i.test(src) ? src : undefined;
        if (data) return { tagName: 'img', attribs: { ...safeStyle(attribs), src: data } };
        if (src) blocked++;
        return { tagName: 'span', attribs: { title: 'Remote image not loaded' }, text: `[image${attribs['alt'] ? `: ${attribs['alt'].slice(0, 100)}` : ''}]` };
      },
    },
  });
  return { html: out, blocked };
}

/** Inline images (cid: references) as data: URIs, within the budget. */
function inlineImages(parts: readonly MimePart[]): Map<string, string> {
  const out = new Map<string, string>();
  let budget = MAX_INLINE_IMAGES;
  for (const p of parts) {
    if (!p.contentId || !/^image\/(png|gif|jpeg|webp)$/.test(p.contentType) || p.truncated || p.content.length > budget) continue;
    budget -= p.content.length;
    out.set(p.contentId.replace(/^<|>$/g, '').toLowerCase(), `data:${p.contentType};base64,${p.content.toString('base64')}`);
  }
  return out;
}

function bounded(s: string, max: number): { text: string; cut: boolean } {
  return s.length > max ? { text: s.slice(0, max), cut: true } : { text: s, cut: false };
}

export async function buildPreview(message: StoredMessage, content: Buffer): Promise<QuarantinePreview> {
  const env = message.envelope;
  const raw = content.length > PARSE_LIMIT ? content.subarray(0, PARSE_LIMIT) : content;
  const view = messageView(raw, content.length, async function* () {
    yield content;
  }, parse);
  const mime = await view.mime();
  const fields = mime.headers.fields.slice(0, MAX_FIELDS).map((f, i) => ({
    name: view.headers[i]?.key === f.key ? (view.headers[i]?.name ?? f.key) : f.key,
    value: f.value.slice(0, MAX_FIELD),
  }));
  const added = env.prepend
    .split(/\r\n(?![ \t])/)
    .filter((l) => l.length > 0)
    .map((l) => {
      const colon = l.indexOf(':');
      return { name: l.slice(0, colon), value: l.slice(colon + 1).replace(/\r\n[ \t]+/g, ' ').trim().slice(0, MAX_FIELD) };
    });
  const text = bounded(mime.text || mime.htmlText, MAX_TEXT);
  const html = mime.html ? bounded(mime.html, MAX_HTML) : null;
  const cleaned = html ? clean(html.text, inlineImages(mime.parts)) : null;
  return {
    id: env.id,
    receivedAt: env.receivedAt,
    from: env.from,
    recipients: env.recipients.map((r) => r.address),
    client: env.client,
    size: message.contentLength,
    verdict: env.verdict ?? null,
    subject: mime.headers.subject,
    added,
    headers: fields,
    text: text.text,
    textTruncated: text.cut,
    html: cleaned?.html ?? null,
    htmlTruncated: html?.cut ?? false,
    remoteImagesBlocked: cleaned?.blocked ?? 0,
    attachments: mime.attachments.map((a) => ({ path: a.path, filename: a.filename, contentType: a.contentType, sniffedType: a.sniffedType?.mime ?? null, size: a.size })),
    problems: mime.problems.map((p) => `${p.code}${p.path ? ` (part ${p.path})` : ''}`),
  };
}
