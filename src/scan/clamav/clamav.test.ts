/**
 * The antivirus check and its clamd adapter against a real clamd (one per file, StreamMaxLength
 * 1 MiB, a database of EICAR and clam.exe built by the harness): clean mail passes, EICAR and the
 * clamav-testfiles variants (archived, packed, encoded) are found in base64 attachments and refused
 * with 554 5.7.1, a message over maxSize is scanned in part and says so, and clamd down, stopped
 * (SIGSTOP) or refusing an oversized stream defers with 451 4.7.1 unless the check fails open.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAMAV_TESTFILES, EICAR, EICAR_SIGNATURE, startClamd, TESTFILE_SIGNATURE, type ClamdHandle } from '../../../test/harness/clamd.js';
import { freePort } from '../../../test/harness/ports.js';
import { stopAll } from '../../../test/harness/process.js';
import { makeScratchDir, removeScratchDir } from '../../../test/harness/tmp.js';
import { dataPass, mimeMessage, viewOf } from '../../../test/support/scan.js';
import { ClamdClient, type ClamdOptions } from '../../platform/clamd.js';
import { ScannerError, type SocketTarget } from '../../platform/scanner-io.js';
import { clamav, clamavSchema } from './index.js';

const MiB = 1024 * 1024;
let dir: string;
let clamd: ClamdHandle;

beforeAll(async () => {
  dir = await makeScratchDir('moat-clamav-test-');
  clamd = await startClamd({ dir, streamMaxLength: MiB });
});
afterAll(async () => {
  await stopAll();
  await removeScratchDir(dir);
});

const tcp = (): SocketTarget => ({ host: '127.0.0.1', port: clamd.port });
const client = (o: Partial<ClamdOptions> = {}): ClamdClient => new ClamdClient({ target: tcp(), timeoutMs: 10_000, maxSize: MiB, maxConcurrent: 4, ...o });
const check = (config: Record<string, unknown> = {}, o: Partial<ClamdOptions> = {}) => {
  const c = clamavSchema.parse({ address: clamd.address, maxSize: MiB, ...config });
  return clamav(c, client({ maxSize: c.maxSize, ...o }));
};
const clean = mimeMessage({ subject: 'minutes', text: 'The minutes of the meeting are attached.\n', attachments: [{ name: 'minutes.txt', content: 'Nothing happened.\n' }] });
const eicarMail = mimeMessage({ subject: 'invoice', attachments: [{ name: 'invoice.com', content: EICAR }] });

describe('clamd adapter (INSTREAM)', () => {
  it('answers OK for a clean message over TCP and counts every octet sent', async () => {
    const v = viewOf(clean);
    expect(await client().scan(v.stream(), AbortSignal.timeout(10_000))).toEqual({ virus: null, scanned: v.size });
  });

  it('finds EICAR in a base64 attachment over the unix socket (clamd decodes MIME itself)', async () => {
    const r = await client({ target: { path: clamd.socketPath } }).scan(viewOf(eicarMail).stream(), AbortSignal.timeout(10_000));
    expect(r.virus).toBe(EICAR_SIGNATURE);
  });

  it('sends the content in many chunks when it is longer than one', async () => {
    const big = viewOf(`Subject: big\n\n${'hello world\n'.repeat(30_000)}${EICAR}\n`);
    expect(big.size).toBeGreaterThan(5 * 65536);
    expect(await client({ chunkSize: 4096 }).scan(big.stream(), AbortSignal.timeout(10_000))).toEqual({ virus: EICAR_SIGNATURE, scanned: big.size });
  });

  it('throws SCANNER_REFUSED when maxSize is above clamd StreamMaxLength', async () => {
    const v = viewOf(Buffer.alloc(MiB + 4096, 'a'));
    const e = await client({ maxSize: 2 * MiB })
      .scan(v.stream(), AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScannerError);
    expect((e as ScannerError).code).toBe('SCANNER_REFUSED');
    expect((e as Error).message).toMatch(/StreamMaxLength/);
  });

  it('answers PING with PONG over TCP and the unix socket, and a ping to nothing throws SCANNER_UNAVAILABLE', async () => {
    await expect(client().ping(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    await expect(client({ target: { path: clamd.socketPath } }).ping(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    const e = await client({ target: { host: '127.0.0.1', port: await freePort() } })
      .ping(AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect((e as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
  });

  it('throws SCANNER_UNAVAILABLE at once when nothing listens', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const e = await client({ target: { host: '127.0.0.1', port } })
      .scan(viewOf(clean).stream(), AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect((e as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(2000);
    const gone = await client({ target: { path: join(dir, 'no-such.sock') } })
      .scan(viewOf(clean).stream(), AbortSignal.timeout(10_000))
      .catch((x: unknown) => x);
    expect((gone as ScannerError).code).toBe('SCANNER_UNAVAILABLE');
  });

  it('gives up after its time budget when clamd hangs (SIGSTOP), and bounds concurrent scans', async () => {
    expect(clamd.process.signal('SIGSTOP')).toBe(true);
    try {
      const c = client({ timeoutMs: 600, maxConcurrent: 1 });
      const t0 = Date.now();
      // `first` holds the only slot against the hung clamd; `second` has a shorter deadline of its own.
      const first = c.scan(viewOf(clean).stream(), AbortSignal.timeout(10_000)).catch((x: unknown) => x);
      let bElapsed = 0;
      const second = c.scan(viewOf(clean).stream(), AbortSignal.timeout(250)).catch((x: unknown) => {
        bElapsed = Date.now() - t0;
        return x;
      });
      const b = await second;
      const a = await first;
      const elapsed = Date.now() - t0;
      expect((b as ScannerError).code).toBe('SCANNER_TIMEOUT');
      // With one slot, the second scan never reached clamd: it timed out waiting for the first.
      expect((b as Error).message).toMatch(/waiting for one of 1 scan slots/);
      expect(bElapsed).toBeLessThan(elapsed);
      expect((a as ScannerError).code).toBe('SCANNER_TIMEOUT');
      expect((a as Error).message).toMatch(/no answer from 127\.0\.0\.1:\d+ within the time budget/);
      expect(elapsed).toBeGreaterThanOrEqual(580);
      expect(elapsed).toBeLessThan(5000);
    } finally {
      clamd.process.signal('SIGCONT');
    }
  });
});

describe('clamav check', () => {
  it('reports nothing for a clean message, which is accepted', async () => {
    const r = await dataPass([check()], viewOf(clean));
    expect(r.explanation.findings).toEqual([]);
    expect(r.explanation.action).toBe('accept');
  });

  it('rejects EICAR in a base64 attachment with 554 5.7.1 naming the signature', async () => {
    const r = await dataPass([check()], viewOf(eicarMail));
    expect(r.explanation.action).toBe('reject');
    expect(r.explanation.decidedBy?.symbol).toBe('VIRUS_FOUND');
    expect(r.details.get('VIRUS_FOUND')).toBe(EICAR_SIGNATURE);
    expect(r.reply).toBe(`554 5.7.1 Message rejected: virus found (${EICAR_SIGNATURE})`);
  });

  it('leaves the signature out of the reply with nameInReply: false', async () => {
    const r = await dataPass([check({ nameInReply: false })], viewOf(eicarMail));
    expect(r.reply).toBe('554 5.7.1 Message rejected: virus found');
  });

  it('finds clam.exe inside archived, packed and encoded variants of clamav-testfiles', async () => {
    // The database holds the MD5 of clam.exe alone: a hit on any other file means clamd unpacked it.
    const variants = ['clam.exe', 'clam.zip', 'clam.7z', 'clam.tar.gz', 'clam.exe.bz2', 'clam.cab', 'clam-upx.exe', 'clam-petite.exe', 'clam.ole.doc', 'clam.pdf'];
    const found: Record<string, string | undefined> = {};
    for (const name of variants) {
      const content = await readFile(join(CLAMAV_TESTFILES, name));
      const r = await dataPass([check()], viewOf(mimeMessage({ subject: name, attachments: [{ name, content }] })));
      found[name] = r.details.get('VIRUS_FOUND');
    }
    expect(found).toEqual(Object.fromEntries(variants.map((n) => [n, TESTFILE_SIGNATURE])));
  });

  it('scans the first maxSize octets of a longer message and reports CLAMAV_TRUNCATED', async () => {
    const filler = `${'x'.repeat(998)}\r\n`.repeat(1100); // about 1.1 MB
    const head = await dataPass([check()], viewOf(`Subject: head\r\n\r\n${EICAR}\r\n${filler}`));
    expect(head.explanation.findings.map((f) => f.symbol)).toEqual(['VIRUS_FOUND', 'CLAMAV_TRUNCATED']);
    expect(head.details.get('CLAMAV_TRUNCATED')).toMatch(new RegExp(`^scanned the first ${MiB} of \\d+ octets$`));
    expect(head.reply).toMatch(/^554 5\.7\.1 /);
    // A virus past the limit is not seen, and the explanation says the scan was partial.
    const tail = await dataPass([check()], viewOf(`Subject: tail\r\n\r\n${filler}${EICAR}\r\n`));
    expect(tail.explanation.findings.map((f) => f.symbol)).toEqual(['CLAMAV_TRUNCATED']);
    expect(tail.explanation.action).toBe('accept');
    // The operator decides what a partial scan means.
    const strict = await dataPass([check()], viewOf(`Subject: tail\r\n\r\n${filler}`), { policy: { symbols: { CLAMAV_TRUNCATED: { action: 'defer' } } } });
    expect(strict.reply).toBe('451 4.7.1 Try again later');
  });

  it('defers with 451 4.7.1 (CLAMAV_TEMPFAIL) when clamd refuses an oversized stream', async () => {
    const r = await dataPass([check({ maxSize: 2 * MiB })], viewOf(Buffer.alloc(MiB + 10, 'a')));
    expect(r.explanation.decidedBy?.symbol).toBe('CLAMAV_TEMPFAIL');
    expect(r.reply).toBe('451 4.7.1 Try again later');
  });

  it('defers with 451 4.7.1 while clamd is stopped, accepts with failOpen (reported each time), and scans again once it is back', async () => {
    await clamd.stop();
    try {
      const down = await dataPass([check()], viewOf(eicarMail));
      expect(down.explanation.action).toBe('defer');
      expect(down.explanation.decidedBy?.symbol).toBe('CLAMAV_TEMPFAIL');
      expect(down.details.get('CLAMAV_TEMPFAIL')).toMatch(/^data: clamd: 127\.0\.0\.1:\d+: ECONNREFUSED$/);
      expect(down.reply).toBe('451 4.7.1 Try again later');
      for (let i = 0; i < 2; i++) {
        const open = await dataPass([check()], viewOf(clean), { failOpen: true });
        expect(open.explanation.action).toBe('accept');
        expect(open.failedOpen).toEqual([{ check: 'clamav', phase: 'data', error: expect.stringMatching(/ECONNREFUSED/) as unknown as string }]);
      }
    } finally {
      await clamd.restart();
    }
    expect((await dataPass([check()], viewOf(eicarMail))).explanation.decidedBy?.symbol).toBe('VIRUS_FOUND');
  });

  it('observes only: shows VIRUS_FOUND without acting on it', async () => {
    const r = await dataPass([check()], viewOf(eicarMail), { observe: true });
    expect(r.explanation.action).toBe('accept');
    expect(r.explanation.findings.map((f) => [f.symbol, f.observed])).toEqual([['VIRUS_FOUND', true]]);
  });
});
