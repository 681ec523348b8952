/**
 * The one MIME parse of a message (docs/adr/0005-mime-parser.md): mailsplit splits the structure
 * (RFC 2045/2046: boundaries, part headers, IMAP part numbers), this module decodes each leaf
 * (base64 and quoted-printable transfer encodings, charsets through libmime), parses nested
 * message/rfc822 parts the same way one level deeper, and notes every structural anomaly as a
 * problem instead of failing. Trusts nothing in the input. Never throws on any input; bounded by
 * MimeLimits (nesting depth, part count, decoded octets, HTML rendered) and yields to the event
 * loop between input chunks so that a 10 MB message does not stall other sessions.
 */
import { Splitter } from '@zone-eu/mailsplit';
import { decode as decodeQp } from 'libqp';
import { decodeText } from './charset.js';
import { decodeHeaders, type RawField } from './headers.js';
import { renderHtml } from './render.js';
import { sniffType } from './sniff.js';
import type { DecodedHeaders, MimeLimits, MimePart, MimeProblem, NestedMessage, ParsedMime, PartKind } from './types.js';

/** What the parse needs of a message (MessageView has it). */
export interface MimeSource {
  readonly raw: Buffer;
  readonly truncated: boolean;
  readonly headers: readonly { readonly key: string; readonly start: number; readonly end: number; readonly name: string }[];
}

/** The splitter's node, as far as this module reads it. */
interface SplitNode {
  readonly root: boolean;
  readonly parentNode: SplitNode | false;
  readonly _boundary: Buffer | false;
  readonly multipart: string | false;
  readonly encoding: string | false;
  readonly contentType: string | false;
  readonly charset: string | false;
  readonly disposition: string | false;
  readonly filename: string | false;
  readonly partNr: (number | 'TEXT')[] | false;
  readonly headers: { getFirst(key: string): string; getList(): { key: string; line: string }[] } | false;
}

interface Leaf {
  readonly node: SplitNode;
  readonly path: string;
  readonly depth: number;
  readonly chunks: Buffer[];
  bytes: number;
}

interface State {
  readonly limits: MimeLimits;
  readonly problems: MimeProblem[];
  readonly parts: MimePart[];
  readonly nested: NestedMessage[];
  readonly text: string[];
  readonly html: string[];
  leaves: number;
  decoded: number;
}

const CHUNK = 64 * 1024;
const PLAIN: SplitNode = { root: false, parentNode: false, _boundary: false, multipart: false, encoding: false, contentType: 'text/plain', charset: false, disposition: false, filename: false, partNr: false, headers: false };
const TRANSFER_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);
/** Data between parts kept for finding close-delimiters; past it the check is skipped. */
const MAX_DATA = 1 << 20;

function problem(st: State, code: MimeProblem['code'], path: string, detail = ''): void {
  if (!st.problems.some((p) => p.code === code && p.path === path)) st.problems.push({ code, path, detail: detail.slice(0, 200) });
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function pathOf(node: SplitNode, prefix: string): { path: string; depth: number } {
  const nums = (node.partNr || []).filter((n): n is number => typeof n === 'number');
  const own = nums.length > 0 ? nums.join('.') : node.multipart ? '' : '1';
  return { path: prefix === '' ? own : own === '' ? prefix : `${prefix}.${own}`, depth: nums.length };
}

function decodeTransfer(st: State, body: Buffer, encoding: string, path: string, cut: boolean): Buffer {
  if (encoding === 'base64') {
    const s = body.toString('latin1');
    // RFC 2045 §6.8: only the alphabet and line breaks, "=" padding at the end only; the length
    // check (4n+1 octets cannot be padding) is made on parts up to 1 MB, where it is cheap.
    let bad = /[^A-Za-z0-9+/=\s]/.test(s) || /=[\s]*[A-Za-z0-9+/]/.test(s);
    if (!bad && !cut && s.length < 1 << 20) bad = s.replace(/\s+/g, '').length % 4 === 1;
    if (bad) problem(st, 'base64-invalid', path);
    // Node's decoder skips what is not in the alphabet, as MUAs do.
    return Buffer.from(s, 'base64');
  }
  if (encoding === 'quoted-printable') {
    if (/=(?![0-9A-Fa-f]{2}|[ \t]*\r?\n|[ \t]*$)/.test(body.toString('latin1'))) problem(st, 'qp-invalid', path);
    try {
      return decodeQp(body);
    } catch {
      return body;
    }
  }
  return body;
}

function kindOf(contentType: string, disposition: string | null, filename: string | null): PartKind {
  if (contentType === 'message/rfc822' || contentType === 'message/global') return 'message';
  const file = disposition === 'attachment' && filename !== null;
  if (contentType === 'text/plain' && !file) return 'text';
  if (contentType === 'text/html' && !file) return 'html';
  return 'attachment';
}

function rawFieldsOf(node: SplitNode): RawField[] {
  if (!node.headers) return [];
  return node.headers.getList().map((h) => {
    const b = Buffer.from(h.line, 'latin1');
    const colon = b.indexOf(58);
    return { key: h.key, value: colon < 0 ? Buffer.alloc(0) : b.subarray(colon + 1) };
  });
}

/** Splits one entity (the message, or a nested one) and collects its leaves. */
async function split(st: State, raw: Buffer, prefix: string, baseDepth: number, cut: boolean): Promise<{ root: SplitNode | null; leaves: Leaf[] }> {
  const splitter = new Splitter({ ignoreEmbedded: true, maxChildNodes: st.limits.maxParts * 2 + 10, maxHeadSize: 1 << 20 });
  const leaves: Leaf[] = [];
  const multiparts = new Map<SplitNode, { path: string; children: number }>();
  let root: SplitNode | null = null;
  let data = '';
  let skipped = false;
  splitter.on('data', (d) => {
    if (d.type === 'node') {
      const node = d as unknown as SplitNode;
      root ??= node;
      const { path, depth } = pathOf(node, prefix);
      if (node.parentNode) {
        const parent = multiparts.get(node.parentNode);
        if (parent) parent.children++;
      }
      if (baseDepth + depth > st.limits.maxDepth) {
        problem(st, 'nesting-too-deep', prefix, `deeper than ${st.limits.maxDepth} levels`);
        skipped = true;
        return;
      }
      if (node.multipart) {
        multiparts.set(node, { path, children: 0 });
        const enc = (node.encoding || '').toLowerCase();
        if (enc === 'base64' || enc === 'quoted-printable') problem(st, 'encoding-on-multipart', path, enc);
        return;
      }
      if (st.leaves >= st.limits.maxParts) {
        problem(st, 'too-many-parts', '', `more than ${st.limits.maxParts}`);
        skipped = true;
        return;
      }
      st.leaves++;
      skipped = false;
      leaves.push({ node, path, depth: baseDepth + depth, chunks: [], bytes: 0 });
    } else if (d.type === 'body') {
      const leaf = leaves[leaves.length - 1];
      // Raw octets kept per leaf are bounded too (base64 is 4/3 of what it decodes to).
      if (leaf && !skipped && leaf.node === (d.node as unknown) && leaf.bytes <= st.limits.maxDecodedBytes * 1.4) {
        leaf.chunks.push(d.value);
        leaf.bytes += d.value.length;
      }
    } else if (data.length < MAX_DATA) {
      data += d.value.toString('latin1');
    }
  });
  const done = new Promise<void>((resolve, reject) => {
    splitter.once('end' as 'data', () => resolve());
    splitter.once('error' as 'data', (e: unknown) => reject(e as Error));
  });
  done.catch(() => undefined);
  try {
    for (let i = 0; i < raw.length && !splitter.destroyed; i += CHUNK) {
      splitter.write(raw.subarray(i, i + CHUNK));
      await yieldToLoop();
    }
    splitter.end();
    await done;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/child nodes/i.test(msg)) problem(st, 'too-many-parts', prefix, msg);
    else problem(st, 'parse-error', prefix, msg);
  }
  let empty: { node: SplitNode; path: string } | null = null;
  for (const [node, m] of multiparts) {
    if (m.children === 0) empty ??= { node, path: m.path };
    if (!node._boundary) problem(st, 'boundary-missing', m.path, node.contentType || '');
    else if (m.children === 0) problem(st, 'boundary-not-found', m.path, node._boundary.toString('latin1'));
    else if (!cut && data.length < MAX_DATA && !data.includes(`--${node._boundary.toString('latin1')}--`)) problem(st, 'boundary-not-closed', m.path, node._boundary.toString('latin1'));
  }
  // A multipart whose parts cannot be found: its body is still what a reader may be shown, and
  // hiding text from scanners is why such mail is sent. Scan it as one text part.
  if (empty && leaves.length === 0 && data.length > 0 && st.leaves < st.limits.maxParts) {
    st.leaves++;
    const node: SplitNode = { ...PLAIN, parentNode: empty.node, charset: empty.node.charset };
    leaves.push({ node, path: empty.path === '' ? '1' : `${empty.path}.1`, depth: baseDepth + empty.path.split('.').filter(Boolean).length + 1, chunks: [Buffer.from(data, 'latin1')], bytes: data.length });
  }
  return { root, leaves };
}

async function entity(st: State, raw: Buffer, prefix: string, baseDepth: number, cut: boolean): Promise<SplitNode | null> {
  const { root, leaves } = await split(st, raw, prefix, baseDepth, cut);
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i] as Leaf;
    const n = leaf.node;
    const contentType = (n.contentType || 'text/plain').toLowerCase();
    let encoding = (n.encoding || '7bit').toLowerCase().trim();
    if (!TRANSFER_ENCODINGS.has(encoding)) {
      problem(st, 'encoding-unknown', leaf.path, encoding);
      encoding = '7bit';
    }
    const lastCut = cut && i === leaves.length - 1;
    // Between parts, let other sessions' I/O run: a big message is decoded in several turns.
    if (leaf.bytes > CHUNK) await yieldToLoop();
    const decoded = decodeTransfer(st, Buffer.concat(leaf.chunks), encoding, leaf.path, lastCut);
    const room = Math.max(0, st.limits.maxDecodedBytes - st.decoded);
    const content = decoded.length > room ? decoded.subarray(0, room) : decoded;
    if (content.length < decoded.length) problem(st, 'decoded-size-limit', leaf.path, `${decoded.length} octets`);
    const charset = n.charset ? n.charset.toLowerCase() : null;
    const disposition = n.disposition ? n.disposition.toLowerCase() : null;
    const filename = n.filename || null;
    const kind = kindOf(contentType, disposition, filename);
    const base = {
      path: leaf.path,
      depth: leaf.depth,
      kind,
      contentType,
      charset,
      transferEncoding: encoding,
      disposition,
      filename,
      contentId: (n.headers && n.headers.getFirst('content-id')) || null,
      size: decoded.length,
      truncated: content.length < decoded.length || lastCut,
    };
    if (kind === 'message') {
      st.parts.push({ ...base, content: Buffer.alloc(0), sniffedType: null });
      if (leaf.depth + 1 > st.limits.maxDepth) {
        problem(st, 'nesting-too-deep', leaf.path, `deeper than ${st.limits.maxDepth} levels`);
        continue;
      }
      const inner = await entity(st, decoded, leaf.path, leaf.depth + 1, base.truncated);
      if (inner) st.nested.push({ path: leaf.path, depth: leaf.depth + 1, headers: decodeHeaders(rawFieldsOf(inner), leaf.path, st.problems) });
      continue;
    }
    st.decoded += content.length;
    if (kind === 'text' || kind === 'html') {
      const t = decodeText(content, charset);
      if (!t.supported) problem(st, 'charset-unknown', leaf.path, charset ?? '');
      (kind === 'text' ? st.text : st.html).push(t.text);
    }
    st.parts.push({ ...base, content, sniffedType: kind === 'attachment' ? await sniffType(content) : null });
  }
  return root;
}

function topFields(src: MimeSource): RawField[] {
  return src.headers.map((h) => {
    const field = src.raw.subarray(h.start, h.end);
    return { key: h.key, value: field.subarray(Math.min(field.length, Buffer.byteLength(h.name, 'latin1') + 1)) };
  });
}

/** Parses a message. Never throws; anomalies are in `problems`. */
export async function parseMessage(src: MimeSource, limits: MimeLimits, malformedHeader: boolean): Promise<ParsedMime> {
  const st: State = { limits, problems: [], parts: [], nested: [], text: [], html: [], leaves: 0, decoded: 0 };
  if (malformedHeader) problem(st, 'header-malformed', '');
  const headers: DecodedHeaders = decodeHeaders(topFields(src), '', st.problems);
  try {
    await entity(st, src.raw, '', 0, src.truncated);
  } catch (e) {
    problem(st, 'parse-error', '', e instanceof Error ? e.message : String(e));
  }
  const has = (k: string): boolean => headers.fields.some((f) => f.key === k);
  const mimeStructure = st.parts.some((p) => p.path.includes('.') || p.path !== '1') || has('content-transfer-encoding') || /^multipart\//i.test(headers.fields.find((f) => f.key === 'content-type')?.raw ?? '');
  if (!has('mime-version') && mimeStructure) problem(st, 'mime-version-missing', '');
  const html = st.html.join('\n');
  if (html.length > CHUNK) await yieldToLoop();
  return {
    headers,
    text: st.text.join('\n'),
    html,
    htmlText: html === '' ? '' : renderHtml(html, limits.maxHtmlRender),
    parts: st.parts,
    attachments: st.parts.filter((p) => p.kind === 'attachment'),
    nested: st.nested,
    problems: st.problems,
    truncated: src.truncated,
  };
}
