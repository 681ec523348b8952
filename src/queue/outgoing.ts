/**
 * The message as it leaves the queue: the envelope's `prepend` header lines, then the stored content
 * with the envelope's edits applied (forged Authentication-Results: dropped, a tagged Subject:).
 * Streaming and zero-copy where nothing changes; the stored record itself is never rewritten.
 */
import { isAscii } from 'node:buffer';
import type { ContentEdit } from './record.js';
import type { StoredMessage } from './spool.js';

function editDelta(edits: readonly ContentEdit[]): number {
  return edits.reduce((n, e) => n + Buffer.byteLength(e.insert) - e.remove, 0);
}

/** Octets that will be sent (for SIZE=). */
export function outgoingSize(m: StoredMessage): number {
  return Buffer.byteLength(m.envelope.prepend) + m.contentLength + editDelta(m.envelope.edits);
}

/** Whether what will be sent holds octets above 127 (BODY=8BITMIME). */
export function outgoingEightBit(m: StoredMessage): boolean {
  const e = m.envelope;
  return m.eightBit || !isAscii(Buffer.from(e.prepend)) || e.edits.some((x) => !isAscii(Buffer.from(x.insert)));
}

/** Applies sorted, non-overlapping edits to a stream of content octets. */
export async function* applyEdits(content: AsyncIterable<Buffer>, edits: readonly ContentEdit[]): AsyncIterable<Buffer> {
  let offset = 0; // stream offset of the chunk's first octet
  let next = 0; // index of the next edit to apply
  let skip = 0; // octets still to drop for an edit that started in an earlier chunk
  for await (const chunk of content) {
    let from = 0;
    if (skip > 0) {
      const n = Math.min(skip, chunk.length);
      skip -= n;
      from = n;
    }
    while (next < edits.length) {
      const e = edits[next] as ContentEdit;
      const at = e.at - offset;
      if (at >= chunk.length) break;
      if (at > from) yield chunk.subarray(from, at);
      if (e.insert.length > 0) yield Buffer.from(e.insert, 'utf8');
      const end = Math.max(at, from) + e.remove;
      if (end > chunk.length) {
        skip = end - chunk.length;
        from = chunk.length;
      } else {
        from = end;
      }
      next++;
    }
    if (from < chunk.length) yield from === 0 ? chunk : chunk.subarray(from);
    offset += chunk.length;
  }
  // Edits at the very end (an insert after the last octet).
  for (; next < edits.length; next++) {
    const e = edits[next] as ContentEdit;
    if (e.insert.length > 0) yield Buffer.from(e.insert, 'utf8');
  }
}

/** The full outgoing message: prepend, then the edited content. */
export async function* outgoingContent(m: StoredMessage, content: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const e = m.envelope;
  if (e.prepend.length > 0) yield Buffer.from(e.prepend, 'utf8');
  if (e.edits.length === 0) yield* content;
  else yield* applyEdits(content, e.edits);
}
