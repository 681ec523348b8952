// `moat scan` end to end: the built CLI on the .eml fixtures (single files, an mbox, a Maildir and a
// directory big enough to be shared out to worker threads), asserting symbols, scores and actions
// from the configured policy, and that results come in input order. The config points DNS at a
// dead loopback port: the content checks here make no lookups, and none may reach the system's.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScratchDir, removeScratchDir } from '../harness/index.js';
import { BIN, ROOT } from '../support/gateway-process.js';

const run = promisify(execFile);
const EML = join(ROOT, 'test', 'fixtures', 'eml');

interface Line {
  file: string;
  score: number;
  action: string;
  symbols: { name: string; score: number; detail?: string }[];
}

let dir = '';
let config = '';

async function scan(...args: string[]): Promise<{ code: number; stdout: string; lines: Line[] }> {
  try {
    const r = await run(process.execPath, [BIN, 'scan', '--config', config, ...args], { timeout: 120_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, lines: r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line) };
  } catch (e) {
    const x = e as { code: number; stdout: string };
    return { code: x.code, stdout: x.stdout, lines: x.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line) };
  }
}

const names = (l: Line | undefined): string[] => (l?.symbols ?? []).map((s) => s.name).sort();

beforeAll(async () => {
  dir = await makeScratchDir('moat-scan-');
  config = join(dir, 'moat.yaml');
  await writeFile(
    config,
    [
      'hostname: mx.example.com',
      'listen: [{ address: "127.0.0.1:2525" }]',
      'domains: { example.com: { relay: ["127.0.0.1:2526"] } }',
      `dataDir: ${join(dir, 'data')}`,
      'dns: { servers: ["127.0.0.1:9"] }',
      // DKIM/DMARC/ARC need DNS, which is a dead port here: this test is about the local checks.
      'checks: { auth: { enabled: false } }',
      'policy:',
      '  actions: { tag: 2, quarantine: 8, reject: 15 }',
      '  symbols: { FROM_MULTIPLE: { action: reject } }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await removeScratchDir(dir);
});

describe('moat scan', () => {
  it('gives a clean ham no symbols and accepts it', async () => {
    const r = await scan('--json', join(EML, 'ham.eml'));
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatchObject({ file: join(EML, 'ham.eml'), score: 0, action: 'accept', symbols: [] });
  });

  it('reports broken MIME and a missing MIME-Version, and tags at the configured threshold', async () => {
    const r = await scan('--json', join(EML, 'malformed.eml'));
    const l = r.lines[0];
    expect(names(l)).toEqual(['MIME_MALFORMED', 'MIME_MISSING_VERSION']);
    expect(l?.symbols.find((s) => s.name === 'MIME_MALFORMED')?.detail).toContain('boundary-not-found');
    expect(l?.score).toBe(2.2);
    expect(l?.action).toBe('tag');
  });

  it('reports a missing Date and Message-ID', async () => {
    const r = await scan('--json', join(EML, 'no-date-msgid.eml'));
    expect(names(r.lines[0])).toEqual(['MISSING_DATE', 'MISSING_MESSAGE_ID']);
    expect(r.lines[0]?.action).toBe('tag');
  });

  it('splits an mbox into its messages, and a symbol with a hard action decides', async () => {
    const mbox = join(EML, 'three.mbox');
    const r = await scan('--json', mbox);
    expect(r.lines.map((l) => l.file)).toEqual([`${mbox}:1`, `${mbox}:2`, `${mbox}:3`]);
    expect(names(r.lines[0])).toEqual([]);
    expect(names(r.lines[1])).toEqual(['MISSING_MESSAGE_ID']);
    expect(r.lines[1]?.action).toBe('accept');
    expect(names(r.lines[2])).toEqual(['FROM_MULTIPLE']);
    expect(r.lines[2]?.action).toBe('reject');
  });

  it('reads a Maildir from cur/ and new/ only', async () => {
    const r = await scan('--json', join(EML, 'maildir'));
    expect(r.lines.map((l) => l.file.slice(join(EML, 'maildir').length + 1))).toEqual(['cur/1717400000.M1P1.host:2,S', 'new/1717400001.M2P2.host']);
    expect(r.lines.map((l) => l.action)).toEqual(['accept', 'tag']);
  });

  it('prints the explanation for people: symbols with score and description, total, thresholds, action', async () => {
    const r = await scan(join(EML, 'no-date-msgid.eml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MISSING_DATE\s+1\.00\s+No Date field/);
    expect(r.stdout).toMatch(/total 2\.00 \(tag 2, quarantine 8, reject 15\): tag/);
  });

  it('shares a big directory out to worker threads and keeps the input order', async () => {
    const big = join(dir, 'many');
    await mkdir(big);
    const sources = ['ham.eml', 'malformed.eml', 'no-date-msgid.eml'];
    for (let i = 0; i < 60; i++) await copyFile(join(EML, sources[i % 3] as string), join(big, `m${String(i).padStart(3, '0')}.eml`));
    const r = await scan('--json', big);
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.file)).toEqual(Array.from({ length: 60 }, (_, i) => join(big, `m${String(i).padStart(3, '0')}.eml`)));
    expect(r.lines.map((l) => l.action)).toEqual(Array.from({ length: 60 }, (_, i) => ['accept', 'tag', 'tag'][i % 3]));
  });

  it('exits 1 for a path that does not exist', async () => {
    const r = await scan('--json', join(dir, 'nope.eml'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ENOENT');
  });
});
