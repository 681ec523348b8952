import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rcptFindings, symbols } from '../../../test/support/check-run.js';
import type { Check } from '../../pipeline/types.js';
import { recipientsCheckSchema, recipientsDomainSchema } from './config.js';
import { recipientsCheck } from './index.js';
import { parseAddressFile } from './static.js';

let dir: string;
let reads: string[];

const readText = (path: string): Promise<string> => {
  reads.push(path);
  return readFile(path, 'utf8');
};
const refuse = (): Promise<never> => Promise.reject(new Error('not used here'));

function check(recipients: unknown): Check {
  return recipientsCheck(recipientsCheckSchema.parse({}), { 'example.test': { recipients: recipientsDomainSchema.parse(recipients) }, 'open.test': {} }, {
    state: { get: refuse, set: refuse, setIfAbsent: refuse, delete: refuse, increment: refuse, close: refuse },
    directory: { exists: refuse, close: refuse },
    prober: { probe: refuse },
    readText,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-static-'));
  reads = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('static recipient lists', () => {
  it('accepts listed addresses case-insensitively by default and rejects the others with one symbol', async () => {
    const c = check({ sources: [{ type: 'static', addresses: ['bob@example.test', 'Carol@Example.Test'] }] });
    expect(await rcptFindings(c, 'BOB@example.test')).toEqual([]);
    expect(await rcptFindings(c, 'carol@EXAMPLE.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'mallory@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('compares local parts exactly with caseSensitive: true', async () => {
    const c = check({ caseSensitive: true, sources: [{ type: 'static', addresses: ['Bob@example.test'] }] });
    expect(await rcptFindings(c, 'Bob@EXAMPLE.TEST')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'bob@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('leaves domains without recipients config, and postmaster, alone', async () => {
    const c = check({ sources: [{ type: 'static', addresses: ['bob@example.test'] }] });
    expect(await rcptFindings(c, 'anyone@open.test')).toEqual([]);
    expect(await rcptFindings(c, 'Postmaster@example.test')).toEqual([]);
  });

  it('accepts a subaddress of a listed user with a recipient delimiter', async () => {
    const c = check({ recipientDelimiter: '+', sources: [{ type: 'static', addresses: ['bob@example.test'] }] });
    expect(await rcptFindings(c, 'bob+lists@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'bobby+lists@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
  });

  it('reads the file lazily, once per check instance, with comments and a catch-all', async () => {
    const file = join(dir, 'users.txt');
    await writeFile(file, '# users of example.test\nbob@example.test\n  Dave@example.test   # the boss\n\nfr#nk@example.test\n');
    const c = check({ sources: [{ type: 'static', file }] });
    expect(reads).toEqual([]);
    expect(await rcptFindings(c, 'dave@example.test')).toEqual([]);
    expect(await rcptFindings(c, 'fr#nk@example.test')).toEqual([]);
    expect(symbols(await rcptFindings(c, 'the@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    expect(reads).toEqual([file]);
    // What a reload does: a new check instance sees the new file.
    await writeFile(file, '@example.test\n');
    expect(symbols(await rcptFindings(c, 'erin@example.test'))).toEqual(['RCPT_USER_UNKNOWN']);
    expect(await rcptFindings(check({ sources: [{ type: 'static', file }] }), 'erin@example.test')).toEqual([]);
  });

  it('a missing or malformed file defers (never rejects) and is read again on the next lookup', async () => {
    const file = join(dir, 'later.txt');
    const c = check({ sources: [{ type: 'static', addresses: ['bob@example.test'], file }] });
    expect(await rcptFindings(c, 'bob@example.test')).toEqual([]);
    const missing = await rcptFindings(c, 'carol@example.test');
    expect(symbols(missing)).toEqual(['RCPT_UNVERIFIED']);
    expect(missing[0]?.detail).toMatch(/ENOENT/);
    await writeFile(file, 'carol@example.test\nnot an address\n');
    expect((await rcptFindings(c, 'carol@example.test'))[0]?.detail).toMatch(/line 2: not an address/);
    await writeFile(file, 'carol@example.test\ndave@other.test\n');
    expect((await rcptFindings(c, 'carol@example.test'))[0]?.detail).toMatch(/line 2: not an address of example\.test/);
    await writeFile(file, 'carol@example.test\n');
    expect(await rcptFindings(c, 'carol@example.test')).toEqual([]);
    expect(reads.length).toBe(4);
  });

  it('with onUnavailable: accept, an unreadable file accepts with an informative symbol', async () => {
    const c = check({ onUnavailable: 'accept', sources: [{ type: 'static', file: join(dir, 'none.txt') }] });
    const f = await rcptFindings(c, 'carol@example.test');
    expect(symbols(f)).toEqual(['RCPT_UNVERIFIED_ACCEPTED']);
    expect(f[0]?.transient).toBe(true);
  });

  it('parses CRLF files and keeps only this domain', () => {
    expect([...parseAddressFile('a@example.test\r\nB@example.test\r\n', 'example.test', { caseSensitive: false })]).toEqual(['a@example.test', 'b@example.test']);
    expect(() => parseAddressFile('a@example.test.evil\n', 'example.test', { caseSensitive: false })).toThrow(/line 1/);
  });
});
