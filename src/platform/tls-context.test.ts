import { chmod, copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createServer } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type SelfSignedCert } from '../../test/harness/certs.js';
import { makeScratchDir, removeAllScratchDirs } from '../../test/harness/tmp.js';
import { waitUntil } from '../../test/harness/wait.js';
import type { Logger, LogFields } from './logger.js';
import { DEFAULT_SERVER_CIPHERS, serverTlsSchema } from './tls-config.js';
import { loadServerTls, ServerTlsContexts, TlsLoadError } from './tls-context.js';

function memoryLogger(): Logger & { entries: { level: string; event: string; fields: LogFields }[] } {
  const entries: { level: string; event: string; fields: LogFields }[] = [];
  const at = (level: string) => (event: string, fields: LogFields = {}) => void entries.push({ level, event, fields });
  const l = { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => l };
  return l;
}

const settings = (cert: string, key: string) => serverTlsSchema.parse({ cert, key });

/** The subject a TLS client sees from a server using `ctx`. */
async function served(ctx: ServerTlsContexts, address: string): Promise<string> {
  const server = createServer((s) => {
    const context = ctx.get(address);
    if (!context) {
      s.destroy();
      return;
    }
    new TLSSocket(s, { isServer: true, secureContext: context }).on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<string>((resolve, reject) => {
      const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
        resolve(String(c.getPeerCertificate().subject.CN));
        c.destroy();
      });
      c.on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('server TLS contexts', () => {
  let a: SelfSignedCert;
  let b: SelfSignedCert;

  beforeAll(async () => {
    a = await makeSelfSignedCert({ commonName: 'a.moat.test' });
    b = await makeSelfSignedCert({ commonName: 'b.moat.test' });
  });
  afterAll(() => removeAllScratchDirs());

  it('defaults to TLS 1.2 and the intermediate cipher list', () => {
    const s = settings(a.certPath, a.keyPath);
    expect(s.minVersion).toBe('TLSv1.2');
    expect(s.ciphers).toBe(DEFAULT_SERVER_CIPHERS);
    // Forward secrecy and AEAD only: TLS 1.3 suites, or ECDHE with GCM / ChaCha20-Poly1305.
    for (const suite of DEFAULT_SERVER_CIPHERS.split(':')) expect(suite).toMatch(/^TLS_|^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    expect(loadServerTls(s).subject).toBe('CN=a.moat.test');
  });

  it('names the file and the reason when a pair cannot be used, never the key', async () => {
    const dir = await makeScratchDir();
    expect(() => loadServerTls(settings(join(dir, 'missing.pem'), a.keyPath))).toThrow(/cannot read certificate .*missing\.pem: ENOENT/);
    expect(() => loadServerTls(settings(a.certPath, b.keyPath))).toThrow(/private key does not belong to the certificate/);
    await writeFile(join(dir, 'junk.pem'), 'not a certificate');
    expect(() => loadServerTls(settings(join(dir, 'junk.pem'), a.keyPath))).toThrow(TlsLoadError);
    try {
      loadServerTls(settings(a.certPath, b.keyPath));
    } catch (e) {
      expect(String(e)).not.toContain('PRIVATE KEY');
    }
    expect(() => loadServerTls({ ...settings(a.certPath, a.keyPath), ciphers: 'NO-SUCH-CIPHER' })).toThrow(/no cipher match/);
  });

  it('throws at start, but keeps the old context on a bad reload', () => {
    const log = memoryLogger();
    const ctx = new ServerTlsContexts({ logger: log, watch: false });
    expect(() => ctx.apply([{ address: 'x', tls: settings(a.certPath, b.keyPath) }], true)).toThrow(/x: .*does not belong/);
    ctx.apply([{ address: 'x', tls: settings(a.certPath, a.keyPath) }], true);
    const before = ctx.get('x');
    ctx.apply([{ address: 'x', tls: settings(b.certPath, a.keyPath) }], false);
    expect(ctx.get('x')).toBe(before);
    expect(log.entries.at(-1)).toMatchObject({ level: 'error', event: 'tls.reload-failed', fields: { listener: 'x', kept: 'CN=a.moat.test' } });
    ctx.apply([{ address: 'x' }], false);
    expect(ctx.get('x')).toBeNull();
  });

  it('swaps in a renamed-in pair after the debounce, and ignores unchanged files', async () => {
    const dir = await makeScratchDir();
    await copyFile(a.certPath, join(dir, 'cert.pem'));
    await copyFile(a.keyPath, join(dir, 'key.pem'));
    const log = memoryLogger();
    const ctx = new ServerTlsContexts({ logger: log, debounceMs: 100 });
    try {
      ctx.apply([{ address: 'x', tls: settings(join(dir, 'cert.pem'), join(dir, 'key.pem')) }], true);
      expect(await served(ctx, 'x')).toBe('a.moat.test');
      await writeFile(join(dir, 'unrelated.txt'), 'x');
      await copyFile(b.keyPath, join(dir, 'key.new'));
      await copyFile(b.certPath, join(dir, 'cert.new'));
      await chmod(join(dir, 'key.new'), 0o600);
      await rename(join(dir, 'key.new'), join(dir, 'key.pem'));
      await rename(join(dir, 'cert.new'), join(dir, 'cert.pem'));
      await waitUntil(() => log.entries.some((e) => e.event === 'tls.reloaded'), { timeoutMs: 10_000, what: 'tls.reloaded' });
      expect(await served(ctx, 'x')).toBe('b.moat.test');
      expect(log.entries.filter((e) => e.event === 'tls.reloaded')).toHaveLength(1);
      expect(log.entries.filter((e) => e.event === 'tls.reload-failed')).toEqual([]);
    } finally {
      ctx.close();
    }
  });
});
