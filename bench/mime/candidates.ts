// The MIME parser candidates of the benchmark, each reduced to the same output: decoded Subject and
// From, every text/plain part decoded to a string (charset converted), the raw text/html, and every
// other leaf part with its filename, content type and decoded octets. mailsplit is a splitter only:
// its adapter decodes the transfer encoding and the charset itself with libmime, as mailparser does.
// Trusts: the libraries. Fails: an adapter rejects when its library throws or rejects.
import { Splitter } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset.js';
import { finished } from 'node:stream/promises';
import { simpleParser } from 'mailparser';
import PostalMime from 'postal-mime';

export interface Normalized {
  readonly subject: string;
  readonly fromName: string;
  readonly fromAddress: string;
  readonly text: string;
  readonly html: string;
  readonly attachments: readonly { readonly filename: string | null; readonly contentType: string; readonly content: Buffer }[];
}

export type CandidateName = 'postal-mime' | 'mailparser' | 'mailsplit';
export const CANDIDATES: readonly CandidateName[] = ['postal-mime', 'mailparser', 'mailsplit'];

async function postal(raw: Buffer): Promise<Normalized> {
  const m = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer', maxNestingDepth: 64 });
  const from = m.from && m.from.address !== undefined ? m.from : undefined;
  return {
    subject: m.subject ?? '',
    fromName: from?.name ?? '',
    fromAddress: from?.address ?? '',
    text: m.text ?? '',
    html: m.html ?? '',
    attachments: m.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.mimeType,
      content: typeof a.content === 'string' ? Buffer.from(a.content) : Buffer.from(a.content instanceof ArrayBuffer ? a.content : a.content.buffer),
    })),
  };
}

async function mailparser(raw: Buffer): Promise<Normalized> {
  const m = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  const from = m.from?.value[0];
  return {
    subject: m.subject ?? '',
    fromName: from?.name ?? '',
    fromAddress: from?.address ?? '',
    text: m.text ?? '',
    html: typeof m.html === 'string' ? m.html : '',
    attachments: m.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, content: a.content })),
  };
}

function transferDecode(body: Buffer, encoding: string | false): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') {
    const s = body.toString('latin1').replace(/=\r?\n/g, '');
    return Buffer.from(s.replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  }
  return body;
}

async function mailsplit(raw: Buffer): Promise<Normalized> {
  const splitter = new Splitter({ maxChildNodes: 1000 });
  interface Leaf { node: { contentType: string | false; charset: string | false; encoding: string | false; filename: string | false; multipart: string | false; disposition: string | false }; chunks: Buffer[] }
  const leaves: Leaf[] = [];
  let subject = '';
  let from = '';
  splitter.on('data', (d) => {
      if (d.type === 'node') {
        if (d.root && d.headers && subject === '' && from === '') {
          subject = libmime.decodeWords(d.headers.getFirst('subject'));
          from = libmime.decodeWords(d.headers.getFirst('from'));
        }
        if (!d.multipart) leaves.push({ node: d, chunks: [] });
      } else if (d.type === 'body') {
        leaves[leaves.length - 1]?.chunks.push(d.value);
      }
    });
  splitter.end(raw);
  await finished(splitter);
  const text: string[] = [];
  const html: string[] = [];
  const attachments: Normalized['attachments'][number][] = [];
  for (const { node, chunks } of leaves) {
    if (node.contentType === 'message/rfc822') continue;
    const content = transferDecode(Buffer.concat(chunks), node.encoding);
    const type = node.contentType || 'text/plain';
    if ((type === 'text/plain' || type === 'text/html') && node.disposition !== 'attachment') {
      const s = decodeCharset(content, node.charset || 'us-ascii');
      (type === 'text/plain' ? text : html).push(s);
    } else {
      attachments.push({ filename: node.filename || null, contentType: type, content });
    }
  }
  const m = /^\s*(.*?)\s*<([^>]*)>\s*$/.exec(from);
  return {
    subject,
    fromName: (m?.[1] ?? '').replace(/^"|"$/g, ''),
    fromAddress: m?.[2] ?? from.trim(),
    text: text.join('\n'),
    html: html.join('\n'),
    attachments,
  };
}

export const PARSE: Readonly<Record<CandidateName, (raw: Buffer) => Promise<Normalized>>> = {
  'postal-mime': postal,
  mailparser,
  mailsplit,
};
