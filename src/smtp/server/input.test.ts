import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Input, type LineResult } from './input.js';

const never = new AbortController().signal;

async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

/** An Input on a PassThrough, fed with the given chunks, all of them received before it returns. */
async function fed(chunks: readonly (string | Buffer)[], opts: { end?: boolean; highWater?: number } = {}): Promise<{ input: Input; stream: PassThrough }> {
  const stream = new PassThrough();
  const input = new Input(opts.highWater ?? 1 << 20);
  input.attach(stream);
  let total = 0;
  for (const c of chunks) {
    const b = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    total += b.length;
    if (b.length > 0) stream.write(b);
  }
  await until(() => input.pending === total, 'chunks received');
  if (opts.end !== false) stream.end();
  return { input, stream };
}

/** Reads results until eof or a bare newline, lines as latin1 text. */
async function readAllLines(input: Input, max = 1000): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await input.readLine(max, never);
    out.push(show(r));
    if (r.kind === 'eof' || r.kind === 'bare-newline') return out;
  }
}
function show(r: LineResult): string {
  return r.kind === 'line' ? `line:${r.line.toString('latin1')}` : r.kind;
}

/** Reference: what readLine must return for the whole input at once. */
function reference(data: string, max: number): string[] {
  const out: string[] = [];
  let rest = data;
  for (;;) {
    const lf = rest.indexOf('\n');
    const seg = lf < 0 ? rest : rest.slice(0, lf);
    const cr = seg.indexOf('\r');
    if (cr >= 0 && cr !== seg.length - 1) return [...out, 'bare-newline'];
    if (lf < 0) return [...out, 'eof'];
    if (!seg.endsWith('\r')) return [...out, 'bare-newline'];
    out.push(lf + 1 > max ? 'too-long' : `line:${seg.slice(0, -1)}`);
    rest = rest.slice(lf + 1);
  }
}

function splitAt(data: string, cuts: readonly number[]): string[] {
  const points = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < data.length).sort((a, b) => a - b), data.length];
  return points.slice(1).map((end, i) => data.slice(points[i], end));
}

describe('Input.readLine', () => {
  const session = 'EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n\r\nQUIT\r\n';
  const expected = ['line:EHLO client.example', 'line:MAIL FROM:<a@b.example>', 'line:', 'line:QUIT', 'eof'];

  it('reads CRLF lines split between chunks at every position (CR and LF in different chunks included)', async () => {
    for (let i = 1; i < session.length; i++) {
      const { input } = await fed(splitAt(session, [i]));
      expect(await readAllLines(input), `split at ${i}`).toEqual(expected);
    }
  });

  it('reads lines fed one octet at a time', async () => {
    const { input } = await fed([...session]);
    expect(await readAllLines(input)).toEqual(expected);
  });

  it('reads a line that arrives after readLine started waiting', async () => {
    const stream = new PassThrough();
    const input = new Input(1 << 16);
    input.attach(stream);
    const pending = input.readLine(1000, never);
    stream.write('NO');
    stream.write('OP\r');
    await settle();
    stream.write('\nRSET\r\n');
    expect(show(await pending)).toBe('line:NOOP');
    expect(show(await input.readLine(1000, never))).toBe('line:RSET');
  });

  it.each([
    ['bare LF', ['abc\ndef\r\n']],
    ['LF first', ['\r\n', '\n']],
    ['LF at the start of the next chunk', ['abc', '\ndef\r\n']],
    ['bare CR inside a chunk', ['ab\rc\r\n']],
    ['CR CR LF', ['ab\r\r\n']],
    ['CR at the end of a chunk, then not LF', ['abc\r', 'x\r\n']],
    ['CR at the end of a chunk, then CR LF', ['abc\r', '\r\n']],
    ['CR then LF two chunks later via an empty-seeming split', ['a\r', 'b', '\n']],
  ])('reports a %s as a bare newline and drops the rest of the input', async (_name, chunks) => {
    const { input } = await fed([...chunks, 'QUIT\r\n'], { end: false });
    const results: string[] = [];
    for (;;) {
      const r = await input.readLine(1000, never);
      results.push(show(r));
      if (r.kind === 'bare-newline') break;
    }
    expect(results.at(-1)).toBe('bare-newline');
    expect(results.filter((r) => r !== 'bare-newline' && r !== 'line:')).toEqual([]);
    expect(input.pending).toBe(0); // QUIT was pipelined behind it and is gone
  });

  it('accepts CR at the end of one chunk followed by LF at the start of the next', async () => {
    const { input } = await fed(['HELO x\r', '\nNOOP\r', '\n']);
    expect(await readAllLines(input)).toEqual(['line:HELO x', 'line:NOOP', 'eof']);
  });

  it('reports a line over the limit as too-long, counting the CRLF, and goes on with the next', async () => {
    const max = 10;
    const { input } = await fed(['12345678\r\n', '123456789\r\nok\r\n']);
    expect(await readAllLines(input, max)).toEqual(['line:12345678', 'too-long', 'line:ok', 'eof']);
  });

  it('matches the reference on arbitrary input split at arbitrary points', async () => {
    const octet = fc.constantFrom('a', 'b', '.', ' ', '\r', '\n', '\r\n', '\r\n', '\r\n', '\x00', '\xff');
    await fc.assert(
      fc.asyncProperty(
        fc.array(octet, { maxLength: 60 }).map((a) => a.join('')),
        fc.array(fc.nat({ max: 80 }), { maxLength: 6 }),
        fc.integer({ min: 2, max: 12 }),
        async (data, cuts, max) => {
          const { input } = await fed(splitAt(data, cuts));
          expect(await readAllLines(input, max)).toEqual(reference(data, max));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a 10 MB line without a newline in bounded memory and reports it too-long after its LF', async () => {
    const highWater = 64 * 1024;
    const chunk = 64 * 1024;
    const stream = new PassThrough({ highWaterMark: chunk });
    const input = new Input(highWater);
    input.attach(stream);
    let result: LineResult | null = null;
    const reading = input.readLine(1000, never).then((r) => (result = r));
    const block = Buffer.alloc(chunk, 0x41);
    let maxPending = 0;
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk) {
      if (!stream.write(block)) await once(stream, 'drain');
      maxPending = Math.max(maxPending, input.pending);
    }
    await settle();
    expect(result).toBeNull(); // no LF yet: still reading
    expect(maxPending).toBeLessThanOrEqual(highWater + chunk);
    stream.write('\r\nQUIT\r\n');
    await reading;
    expect(result).toEqual({ kind: 'too-long' });
    expect(show(await input.readLine(1000, never))).toBe('line:QUIT');
  });

  it('pauses the stream while more than highWater octets wait unread, and resumes once they are read', async () => {
    const highWater = 16 * 1024;
    const stream = new PassThrough();
    const input = new Input(highWater);
    input.attach(stream);
    const line = Buffer.from(`${'x'.repeat(98)}\r\n`); // 100 octets
    let accepted = true;
    let written = 0;
    while (accepted && written < 100) {
      accepted = stream.write(Buffer.concat(Array.from({ length: 10 }, () => line)));
      written++;
    }
    await until(() => stream.isPaused(), 'stream paused');
    expect(input.pending).toBeGreaterThan(highWater);
    expect(input.pending).toBeLessThanOrEqual(highWater + 16 * 1024);
    expect(accepted).toBe(false); // the writer sees the backpressure
    // Read it all: the stream resumes and the rest arrives.
    for (let i = 0; i < written * 10; i++) expect((await input.readLine(1000, never)).kind).toBe('line');
    expect(stream.isPaused()).toBe(false);
    expect(input.pending).toBe(0);
  });

  it('rejects with the abort reason while waiting, and the input stays usable', async () => {
    const stream = new PassThrough();
    const input = new Input(1 << 16);
    input.attach(stream);
    const ac = new AbortController();
    const waiting = input.readLine(1000, ac.signal);
    ac.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    await expect(input.readLine(1000, ac.signal)).rejects.toThrow('deadline');
    stream.write('NOOP\r\n');
    expect(show(await input.readLine(1000, never))).toBe('line:NOOP');
  });

  it('returns eof at the end of the stream, dropping a partial line', async () => {
    const { input } = await fed(['NOOP\r\nQUI']);
    expect(await readAllLines(input)).toEqual(['line:NOOP', 'eof']);
    expect(input.closed).toBe(true);
  });

  it('ends on a stream error as on eof', async () => {
    const stream = new PassThrough();
    const input = new Input(1 << 16);
    input.attach(stream);
    const r = input.readLine(1000, never);
    stream.destroy(new Error('ECONNRESET'));
    expect(show(await r)).toBe('eof');
  });
});

describe('Input.discard, readSome, unshift, attach', () => {
  it('discard() drops pipelined input and returns its size; later input is read', async () => {
    const { input, stream } = await fed(['STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<y@z>\r\n'], { end: false });
    expect(show(await input.readLine(1000, never))).toBe('line:STARTTLS');
    expect(input.discard()).toBe('MAIL FROM:<evil@x>\r\nRCPT TO:<y@z>\r\n'.length);
    expect(input.pending).toBe(0);
    stream.write('EHLO again\r\n');
    expect(show(await input.readLine(1000, never))).toBe('line:EHLO again');
  });

  it('discard() resumes a paused stream', async () => {
    const stream = new PassThrough();
    const input = new Input(1024);
    input.attach(stream);
    stream.write(Buffer.alloc(4096, 0x61));
    await until(() => stream.isPaused());
    input.discard();
    expect(stream.isPaused()).toBe(false);
  });

  it('readSome() returns what is buffered up to max, splitting a chunk, and null at eof', async () => {
    const { input } = await fed(['abcdef', 'gh']);
    expect((await input.readSome(4, never))?.toString()).toBe('abcd');
    expect((await input.readSome(100, never))?.toString()).toBe('ef');
    expect((await input.readSome(100, never))?.toString()).toBe('gh');
    expect(await input.readSome(100, never)).toBeNull();
  });

  it('readSome() waits for at least one octet', async () => {
    const stream = new PassThrough();
    const input = new Input(1 << 16);
    input.attach(stream);
    const got: { value: Buffer | null } = { value: null };
    const p = input.readSome(10, never).then((b) => (got.value = b));
    await settle();
    expect(got.value).toBeNull();
    stream.write('x');
    await p;
    expect(got.value?.toString()).toBe('x');
  });

  it('unshift() puts octets back in front of what is buffered (the part after the end of DATA)', async () => {
    const { input } = await fed(['BODY\r\n.\r\nQUIT\r\n', 'NOOP\r\n']);
    const chunk = await input.readSome(1000, never);
    expect(chunk?.toString()).toBe('BODY\r\n.\r\nQUIT\r\n');
    input.unshift(Buffer.from('QUIT\r\n'));
    expect(input.pending).toBe('QUIT\r\nNOOP\r\n'.length);
    expect(await readAllLines(input)).toEqual(['line:QUIT', 'line:NOOP', 'eof']);
  });

  it('attach() moves reading to a new stream; the old one is ignored', async () => {
    const plain = new PassThrough();
    const secure = new PassThrough();
    const input = new Input(1 << 16);
    input.attach(plain);
    input.attach(secure);
    plain.write('MAIL FROM:<injected@x>\r\n');
    secure.write('EHLO tls\r\n');
    expect(show(await input.readLine(1000, never))).toBe('line:EHLO tls');
    await settle();
    expect(input.pending).toBe(0);
    plain.end();
    secure.end();
    expect(show(await input.readLine(1000, never))).toBe('eof');
  });
});
