import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEdits, outgoingContent, outgoingEightBit, outgoingSize } from './outgoing.js';
import type { ContentEdit, Envelope } from './record.js';
import type { StoredMessage } from './spool.js';

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

async function* chunks(s: string, cuts: number[]): AsyncIterable<Buffer> {
  const b = Buffer.from(s);
  let at = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < b.length)].sort((x, y) => x - y)) {
    yield b.subarray(at, c);
    at = c;
  }
  yield b.subarray(at);
}

/** The edits applied to a whole string, the obvious way. */
function reference(s: string, edits: readonly ContentEdit[]): string {
  const b = Buffer.from(s);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += b.subarray(at, e.at).toString() + e.insert;
    at = e.at + e.remove;
  }
  return out + b.subarray(at).toString();
}

describe('applyEdits', () => {
  const text = 'Authentication-Results: mx.example; spf=pass\r\nSubject: hello\r\n\r\nbody\r\n';
  const ar = text.indexOf('Subject');
  const subj = text.indexOf('hello');
  const edits: ContentEdit[] = [
    { at: 0, remove: ar, insert: '' },
    { at: subj, remove: 0, insert: '[SPAM] ' },
  ];

  it('drops and inserts at the right places', async () => {
    expect(await collect(applyEdits(chunks(text, []), edits))).toBe('Subject: [SPAM] hello\r\n\r\nbody\r\n');
  });

  it('gives the same octets however the content is split', () => {
    return fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: text.length }), { maxLength: 6 }), async (cuts) => {
        expect(await collect(applyEdits(chunks(text, cuts), edits))).toBe(reference(text, edits));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the reference for random non-overlapping edits', () => {
    const arb = fc
      .tuple(fc.string({ minLength: 0, maxLength: 60 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 5 }), fc.string({ maxLength: 4 })), { maxLength: 5 }), fc.array(fc.nat({ max: 80 }), { maxLength: 5 }))
      .map(([s, raw, cuts]) => {
        const len = Buffer.byteLength(s);
        const sorted = raw.map(([at, rm, ins]) => ({ at: len === 0 ? 0 : at % (len + 1), remove: rm, insert: ins })).sort((a, b) => a.at - b.at);
        const edits: ContentEdit[] = [];
        let end = 0;
        for (const e of sorted) {
          if (e.at < end) continue;
          const remove = Math.min(e.remove, len - e.at);
          edits.push({ at: e.at, remove, insert: e.insert });
          end = e.at + remove;
        }
        return { s, edits, cuts };
      });
    return fc.assert(
      fc.asyncProperty(arb, async ({ s, edits: es, cuts }) => {
        expect(await collect(applyEdits(chunks(s, cuts), es))).toBe(reference(s, es));
      }),
      { numRuns: 500 },
    );
  });
});

describe('outgoing message', () => {
  const envelope = { prepend: 'Received: from a\r\n', edits: [{ at: 0, remove: 5, insert: 'Y\u00e9: ' }] } as unknown as Envelope;
  const m: StoredMessage = { envelope, contentOffset: 13, contentLength: 10, eightBit: false, content: null };

  it('counts prepend and edits in the size and the 8-bit flag', () => {
    expect(outgoingSize(m)).toBe(18 + 10 - 5 + Buffer.byteLength('Y\u00e9: '));
    expect(outgoingEightBit(m)).toBe(true);
    expect(outgoingEightBit({ ...m, envelope: { ...envelope, edits: [] } })).toBe(false);
  });

  it('sends the prepend first, then the edited content', async () => {
    expect(await collect(outgoingContent(m, chunks('X-A: 1\r\nbo', [3])))).toBe('Received: from a\r\nY\u00e9: 1\r\nbo');
  });
});
