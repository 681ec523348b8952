import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECORD_MAGIC, type Envelope } from './record.js';
import { Spool, type StoredMessage } from './spool.js';
import { DirectorySync } from '../platform/durable.js';
import { initialState } from './state.js';

const T0 = 1_700_000_000_000;

function envelope(id: string, recipients = ['bob@example.test']): Envelope {
  return {
    v: 2,
    id,
    receivedAt: T0,
    from: 'alice@sender.example',
    smtputf8: false,
    body: null,
    ret: null,
    envid: null,
    client: { ip: '192.0.2.1', helo: 'client.example', tls: false },
    recipients: recipients.map((address) => ({ address, domain: address.split('@')[1] ?? '', notify: null, orcpt: null })),
    prepend: '',
    edits: [],
  };
}

/** A record with valid lengths and checksum around any envelope text. */
function craft(content: string, envelopeJson: string): Buffer {
  const body = Buffer.concat([RECORD_MAGIC, Buffer.from(content, 'latin1'), Buffer.from(`\n${envelopeJson}\n`)]);
  const trailer = `MOAT-END ${content.length} ${Buffer.byteLength(envelopeJson)} 7 ${crc32(body).toString(16).padStart(8, '0')}\n`;
  return Buffer.concat([body, Buffer.from(trailer)]);
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

let root: string;
let spool: Spool;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'moat-spool-'));
  spool = new Spool(root, 0);
  await spool.init();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function store(id: string, content: Buffer | string, eightBit = false): Promise<StoredMessage> {
  const w = spool.createWriter(id);
  const buf = typeof content === 'string' ? Buffer.from(content, 'latin1') : content;
  // Several writes, as the session does, so the running checksum is exercised.
  const third = Math.ceil(buf.length / 3);
  await w.write([buf.subarray(0, third)]);
  await w.write([buf.subarray(third, 2 * third), buf.subarray(2 * third)]);
  return w.finish(envelope(id), eightBit);
}

describe('SpoolWriter', () => {
  it('writes a record that load() validates, with envelope, length and 8-bit flag', async () => {
    const content = 'Subject: hi\r\n\r\nhello \xe9\r\n';
    const stored = await store('AAA', content, true);
    expect(stored.content?.toString('latin1')).toBe(content);
    expect(stored.contentLength).toBe(content.length);
    const loaded = await spool.load('AAA');
    expect(loaded).toMatchObject({ envelope: envelope('AAA'), contentLength: content.length, eightBit: true, contentOffset: stored.contentOffset, content: null });
    if (!('envelope' in loaded)) throw new Error('not loaded');
    expect((await readAll(spool.contentStream(loaded))).toString('latin1')).toBe(content);
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });

  it('keeps the content in memory only up to 256 KiB', async () => {
    const small = await store('SMALL', Buffer.alloc(256 * 1024, 0x61));
    expect(small.content?.length).toBe(256 * 1024);
    const big = Buffer.alloc(256 * 1024 + 1, 0x62);
    const large = await store('LARGE', big);
    expect(large.content).toBeNull();
    expect(large.contentLength).toBe(big.length);
    expect((await readAll(spool.contentStream(large))).equals(big)).toBe(true);
    expect(await spool.load('LARGE')).toMatchObject({ contentLength: big.length });
  });

  it('abort removes the temporary file and leaves no record', async () => {
    const w = spool.createWriter('ABORTED');
    await w.write([Buffer.alloc(200 * 1024, 0x61)]); // past the write batch: the tmp file exists now
    expect(existsSync(spool.tmpPath('ABORTED'))).toBe(true);
    await w.abort();
    expect(existsSync(spool.tmpPath('ABORTED'))).toBe(false);
    expect(existsSync(spool.messagePath('ABORTED'))).toBe(false);
    expect(await spool.ids()).toEqual([]);
  });

  it('abort before anything reached the disk is harmless', async () => {
    const w = spool.createWriter('EARLY');
    await w.write([Buffer.from('x')]);
    await w.abort();
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });

  // Regression: zlib.crc32 returns 0 for an empty buffer without a backing store (Node passes NULL),
  // so one empty chunk reset the running CRC and a fresh record failed load() as checksum-mismatch.
  it('an empty chunk among the writes does not corrupt the record', async () => {
    const w = spool.createWriter('EMPTYCHUNK');
    const empty = Buffer.from('', 'latin1');
    void empty.buffer;
    await w.write([Buffer.from('Subject: x\r\n\r\n'), empty, Buffer.from('body\r\n')]);
    await w.finish(envelope('EMPTYCHUNK'), false);
    expect(await spool.load('EMPTYCHUNK')).toMatchObject({ contentLength: 20 });
  });

  it('refuses a second writer for an id whose temporary file exists', async () => {
    const a = spool.createWriter('DUP');
    await a.write([Buffer.alloc(200 * 1024)]);
    const b = spool.createWriter('DUP');
    await b.write([Buffer.from('x')]);
    await expect(b.finish(envelope('DUP'), false)).rejects.toMatchObject({ code: 'SPOOL_ERROR', transient: true });
    await a.abort();
  });
});

describe('SpoolWriter before the 250', () => {
  it('reads back the content written so far, from memory or from the file', async () => {
    const small = spool.createWriter('RSMALL');
    await small.write([Buffer.from('Subject: a\r\n\r\n'), Buffer.from('body\r\n')]);
    expect((await small.read(9)).toString()).toBe('Subject: ');
    expect((await readAll(small.stream())).toString()).toBe('Subject: a\r\n\r\nbody\r\n');
    await small.abort();

    const big = Buffer.alloc(300 * 1024, 0x63);
    big.write('Subject: big\r\n\r\n');
    const large = spool.createWriter('RLARGE');
    await large.write([big.subarray(0, 1000)]);
    await large.write([big.subarray(1000)]);
    expect((await large.read(100)).equals(big.subarray(0, 100))).toBe(true);
    expect((await large.read(10 * 1024 * 1024)).equals(big)).toBe(true);
    expect((await readAll(large.stream())).equals(big)).toBe(true);
    // Reading did not disturb the record: it still validates once finished.
    await large.finish(envelope('RLARGE'), false);
    expect(await spool.load('RLARGE')).toMatchObject({ contentLength: big.length });
  });

  it('finishes into another durable directory when told to', async () => {
    const other = join(root, 'elsewhere');
    await mkdir(other);
    const w = spool.createWriter('MOVED');
    await w.write([Buffer.from('x\r\n')]);
    await w.finish(envelope('MOVED'), false, { path: join(other, 'MOVED.msg'), dirSync: new DirectorySync(other) });
    expect(existsSync(join(other, 'MOVED.msg'))).toBe(true);
    expect(existsSync(spool.messagePath('MOVED'))).toBe(false);
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });
});

describe('Spool.scan', () => {
  it('loads valid records and moves every torn or altered one to corrupt/ with its problem', async () => {
    await store('GOOD1', 'Subject: one\r\n\r\nbody\r\n');
    await store('GOOD2', 'Subject: two\r\n\r\nbody\r\n');
    await spool.writeState('GOOD1', initialState(1, T0));
    const valid = await readFile(spool.messagePath('GOOD1'));
    const trailerStart = valid.lastIndexOf('\nMOAT-END ') + 1;
    const contentOffset = RECORD_MAGIC.length;
    const envelopeStart = valid.indexOf('\n{', contentOffset) + 1;

    const bad = new Map<string, Buffer>();
    // Cut at several offsets: in the magic, at the content, in the content, in the envelope, in the
    // trailer and one octet short.
    for (const cut of [0, 5, 12, 13, 15, envelopeStart, envelopeStart + 5, trailerStart, trailerStart + 10, valid.length - 1]) {
      bad.set(`CUT${String(cut).padStart(4, '0')}`, valid.subarray(0, cut));
    }
    // One flipped bit in every octet of the record.
    for (let i = 0; i < valid.length; i++) {
      const b = Buffer.from(valid);
      b[i] = (b[i] as number) ^ (1 << (i % 8));
      bad.set(`FLIP${String(i).padStart(4, '0')}`, b);
    }
    bad.set('NOTRAILER', valid.subarray(0, trailerStart - 1));
    // Well-formed records (right lengths and CRC) around an envelope that is not one.
    bad.set('BADENV', craft('Subject: x\r\n\r\nhi\r\n', '{"v":2,"id":'));
    bad.set('BADVERSION', craft('Subject: x\r\n\r\nhi\r\n', JSON.stringify({ ...envelope('V1'), v: 1 })));
    bad.set('NOMAGIC', Buffer.from('From alice Mon Jan 1\nSubject: x\n\nhi\n'));
    bad.set('EMPTY', Buffer.alloc(0));
    for (const [id, data] of bad) await writeFile(spool.messagePath(id), data);
    await writeFile(spool.statePath('FLIP0100'), 'state of a corrupt record');

    const { messages, corrupt } = await spool.scan();

    expect(messages.map((m) => m.envelope.id)).toEqual(['GOOD1', 'GOOD2']);
    expect(corrupt.map((c) => c.file).sort()).toEqual([...bad.keys()].map((id) => `${id}.msg`).sort());
    const problem = (id: string): string | undefined => corrupt.find((c) => c.file === `${id}.msg`)?.problem;
    expect(problem('NOTRAILER')).toBe('no-trailer');
    expect(problem(`CUT${String(envelopeStart + 5).padStart(4, '0')}`)).toBe('no-trailer');
    expect(problem('BADENV')).toBe('bad-envelope');
    expect(problem('BADVERSION')).toBe('bad-envelope');
    expect(problem('NOMAGIC')).toBe('no-magic');
    expect(problem(`FLIP${String(contentOffset + 2).padStart(4, '0')}`)).toBe('checksum-mismatch');
    for (const c of corrupt) expect(['no-magic', 'bad-envelope', 'no-trailer', 'length-mismatch', 'checksum-mismatch']).toContain(c.problem);

    const moved = await readdir(join(spool.dir, 'corrupt'));
    expect(moved).toContain('NOTRAILER.msg');
    expect(moved).toContain('FLIP0100.state');
    expect(moved.filter((f) => f.endsWith('.msg'))).toHaveLength(bad.size);
    expect(await spool.ids()).toEqual(['GOOD1', 'GOOD2']);
    expect(await spool.readState('GOOD1')).toEqual(initialState(1, T0));
    // A second scan finds nothing more to move.
    expect((await spool.scan()).corrupt).toEqual([]);
  });

  it('sweeps a state file whose message is gone (crash between the two removals)', async () => {
    await store('KEEP', 'a\r\n');
    await spool.writeState('KEEP', initialState(1, T0));
    await spool.writeState('ORPHAN', initialState(1, T0));
    await spool.scan();
    expect(existsSync(spool.statePath('ORPHAN'))).toBe(false);
    expect(existsSync(spool.statePath('KEEP'))).toBe(true);
  });
});

describe('Spool state and housekeeping', () => {
  it('writes and reads a delivery state; a missing or torn one reads as null', async () => {
    const s = { ...initialState(2, T0), attempts: 3, nextAttemptAt: T0 + 900_000 };
    await spool.writeState('S1', s);
    expect(await spool.readState('S1')).toEqual(s);
    expect(await spool.readState('NONE')).toBeNull();
    const text = await readFile(spool.statePath('S1'), 'utf8');
    await writeFile(spool.statePath('S1'), text.slice(0, text.length - 4));
    expect(await spool.readState('S1')).toBeNull();
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });

  it('remove() deletes record and state', async () => {
    await store('GONE', 'x\r\n');
    await spool.writeState('GONE', initialState(1, T0));
    await spool.remove('GONE');
    expect(existsSync(spool.messagePath('GONE'))).toBe(false);
    expect(existsSync(spool.statePath('GONE'))).toBe(false);
  });

  it('freeSpace returns a positive number of octets', async () => {
    const free = await spool.freeSpace(T0);
    expect(typeof free).toBe('number');
    expect(Number.isFinite(free)).toBe(true);
    expect(free).toBeGreaterThan(0);
    expect(await spool.freeSpace(T0 + 500)).toBe(free); // cached within a second
  });

  it('init() removes leftovers in tmp/ (messages that never got their 250)', async () => {
    await writeFile(spool.tmpPath('HALF'), 'MOAT-SPOOL 2\n');
    await writeFile(join(spool.dir, 'tmp', 'X.state'), '{}');
    await new Spool(root, 0).init();
    expect(await readdir(join(spool.dir, 'tmp'))).toEqual([]);
  });

  // Regression: createReadStream got end = start - 1 for an empty content and threw ERR_OUT_OF_RANGE.
  it('streams an empty content as no octets', async () => {
    await spool.createWriter('EMPTYMSG').finish(envelope('EMPTYMSG'), false);
    const loaded = await spool.load('EMPTYMSG');
    if (!('envelope' in loaded)) throw new Error(`not loaded: ${loaded.problem}`);
    expect(loaded.contentLength).toBe(0);
    const read = async (): Promise<number> => (await readAll(spool.contentStream(loaded))).length;
    await expect(read()).resolves.toBe(0);
  });
});
