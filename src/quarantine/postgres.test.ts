// The PostgreSQL quarantine against a real PostgreSQL on loopback: a message kept by "node A" is
// listed, shown and released by "node B" into B's own spool, whole and valid; two nodes releasing
// the same message at once put it into exactly one spool; expiry and delete work on the shared
// table; and with PostgreSQL unreachable keep() rejects (the session answers 451) and leaves no
// staging file behind.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../test/harness/postgres.js';
import { stopAll } from '../../test/harness/process.js';
import type { Envelope } from '../queue/record.js';
import { loadRecordFile, Spool } from '../queue/spool.js';
import { PostgresQuarantine } from './postgres.js';

let dir: string;
let pg: PostgresHandle;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-pgq-'));
  pg = await startPostgres();
  url = await pg.createDatabase('quarantine');
}, 90_000);

afterAll(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

const envelope = (id: string, receivedAt = Date.now()): Envelope => ({
  v: 2,
  id,
  receivedAt,
  from: 'alice@sender.example',
  smtputf8: false,
  body: null,
  ret: null,
  envid: null,
  client: { ip: '192.0.2.1', helo: 'client.example', tls: false },
  recipients: [{ address: 'bob@example.test', domain: 'example.test', notify: null, orcpt: null }],
  prepend: '',
  edits: [],
});

async function node(name: string, databaseUrl = url): Promise<{ q: PostgresQuarantine; spool: Spool; staging: string }> {
  const staging = join(dir, name, 'staging');
  const q = new PostgresQuarantine({ url: databaseUrl, node: name, poolSize: 2, statementTimeoutMs: 5000, stagingDir: staging });
  await q.init();
  const spool = new Spool(join(dir, name, 'spool'), 0);
  await spool.init();
  return { q, spool, staging };
}

async function keep(on: { q: PostgresQuarantine; spool: Spool }, id: string, content: string, receivedAt?: number): Promise<void> {
  const w = on.spool.createWriter(id);
  await w.write([Buffer.from(content, 'latin1')]);
  await on.q.keep(w, envelope(id, receivedAt), false);
}

describe('PostgresQuarantine', () => {
  it('keeps on one node; lists, shows and releases on another, into that node\'s spool', async () => {
    const [a, b] = await Promise.all([node('a'), node('b')]);
    const content = 'Subject: jailed\r\nFrom: x@y\r\n\r\nthe body\r\n';
    await keep(a, 'QA1', content);
    expect(await readdir(a.staging)).toEqual([]); // nothing left on A's disk: it is in PostgreSQL
    expect((await b.q.list()).map((i) => [i.envelope.id, i.size])).toEqual([['QA1', content.length]]);
    expect(await b.q.count()).toBe(1);
    expect(await b.q.head('QA1', 1024)).toBe('Subject: jailed\r\nFrom: x@y\r\n');
    expect((await b.q.load('QA1'))?.envelope.from).toBe('alice@sender.example');
    const m = await b.q.release('QA1', b.spool);
    expect(m?.contentLength).toBe(content.length);
    const onDisk = await loadRecordFile(b.spool.messagePath('QA1'));
    expect('envelope' in onDisk && onDisk.envelope.id).toBe('QA1');
    expect(existsSync(a.spool.messagePath('QA1'))).toBe(false);
    expect(await a.q.list()).toEqual([]);
    expect(await a.q.release('QA1', a.spool)).toBeNull();
    await Promise.all([a.q.close(), b.q.close()]);
  });

  it('two nodes releasing the same message at once: exactly one gets it', async () => {
    const [a, b] = await Promise.all([node('a2'), node('b2')]);
    for (let i = 0; i < 10; i++) await keep(a, `RACE${i}`, `Subject: ${i}\r\n\r\nx\r\n`);
    for (let i = 0; i < 10; i++) {
      const got = await Promise.all([a.q.release(`RACE${i}`, a.spool), b.q.release(`RACE${i}`, b.spool)]);
      expect(got.filter((x) => x !== null)).toHaveLength(1);
      expect([existsSync(a.spool.messagePath(`RACE${i}`)), existsSync(b.spool.messagePath(`RACE${i}`))].filter(Boolean)).toHaveLength(1);
    }
    await Promise.all([a.q.close(), b.q.close()]);
  });

  it('expires old messages and deletes one', async () => {
    const a = await node('a3', await pg.createDatabase('expiry'));
    await keep(a, 'OLD', 'Subject: old\r\n\r\nx\r\n', 1_000);
    await keep(a, 'NEW', 'Subject: new\r\n\r\nx\r\n');
    await keep(a, 'DEL', 'Subject: del\r\n\r\nx\r\n');
    expect(await a.q.expire(10_000)).toBe(1);
    expect(await a.q.delete('DEL')).toBe(true);
    expect(await a.q.delete('DEL')).toBe(false);
    expect((await a.q.list()).map((i) => i.envelope.id)).toEqual(['NEW']);
    await a.q.close();
  });

  it('rejects keep() when PostgreSQL is unreachable, leaving no staging file', async () => {
    const staging = join(dir, 'down', 'staging');
    const q = new PostgresQuarantine({ url: 'postgres://moat:s3cret@127.0.0.1:1/none', node: 'down', poolSize: 1, statementTimeoutMs: 2000, stagingDir: staging });
    await expect(q.init()).rejects.toMatchObject({ code: 'QUARANTINE_STORE_ERROR', transient: true });
    const spool = new Spool(join(dir, 'down', 'spool'), 0);
    await spool.init();
    const w = spool.createWriter('LOST');
    await w.write([Buffer.from('Subject: x\r\n\r\ny\r\n')]);
    const err = await q.keep(w, envelope('LOST'), false).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ transient: true });
    expect((err as Error).message).not.toContain('s3cret');
    expect(await readdir(staging)).toEqual([]);
    await q.close();
  });
});
