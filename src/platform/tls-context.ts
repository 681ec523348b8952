/**
 * Server TLS contexts for the STARTTLS listeners (RFC 3207), and their reload: on SIGHUP (`apply`) and
 * when the certificate or key files change on disk (an inotify watch on their directories, debounced,
 * so that a renewal that renames new files into place, as ACME clients do, is picked up).
 * Every context refuses client-initiated renegotiation and TLS compression, prefers the server's
 * cipher order, and asks for no client certificate (that is set on the socket, session.ts).
 * Trusts: the files named in the config; OpenSSL (via node:tls) to check that key and certificate
 * belong together. Fails safe: a pair that cannot be read or does not match is refused with its
 * reason (file, errno or OpenSSL reason; never key material) and the context in use is kept.
 */
import { createHash, constants as ossl, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from './logger.js';
import type { ServerTlsConfig } from './tls-config.js';

/** No renegotiation (CVE-2011-1473 style CPU exhaustion), no compression (CRIME), server picks. */
export const SERVER_SECURE_OPTIONS = ossl.SSL_OP_NO_RENEGOTIATION | ossl.SSL_OP_NO_COMPRESSION | ossl.SSL_OP_CIPHER_SERVER_PREFERENCE;

export class TlsLoadError extends Error {
  readonly code = 'TLS_LOAD';
  readonly transient = false;
}

export interface LoadedTls {
  readonly context: SecureContext;
  /** Subject of our certificate, e.g. "CN=mx.example.com". */
  readonly subject: string;
  readonly notAfter: string;
  /** SHA-256 of the certificate, for logs. */
  readonly fingerprint: string;
  /** Hash of the whole material (cert, chain, key): tells a changed file from an unchanged one. */
  readonly version: string;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TlsLoadError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** OpenSSL's reason ("key values mismatch"), never the input. */
function opensslReason(e: unknown): string {
  const x = e as { reason?: unknown; code?: unknown };
  if (x.reason === 'key values mismatch') return 'the private key does not belong to the certificate';
  return typeof x.reason === 'string' ? x.reason : typeof x.code === 'string' ? x.code : 'invalid';
}

/** Reads the files of one listener and builds its context; throws TlsLoadError. */
export function loadServerTls(c: ServerTlsConfig): LoadedTls {
  const leaf = read(c.cert, 'certificate');
  const key = read(c.key, 'private key');
  const chain = c.ca !== undefined ? read(c.ca, 'chain') : null;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(leaf);
  } catch (e) {
    throw new TlsLoadError(`certificate ${c.cert}: ${opensslReason(e)}`);
  }
  const cert = chain ? Buffer.concat([leaf, Buffer.from('\n'), chain]) : leaf;
  let context: SecureContext;
  try {
    context = createSecureContext({
      cert,
      key,
      minVersion: c.minVersion,
      ciphers: c.ciphers,
      honorCipherOrder: true,
      secureOptions: SERVER_SECURE_OPTIONS,
    });
  } catch (e) {
    throw new TlsLoadError(`${c.cert} + ${c.key}: ${opensslReason(e)}`);
  }
  const version = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(`${c.minVersion}|${c.ciphers}`).digest('hex');
  return { context, subject: x509.subject.replace(/\n/g, ', '), notAfter: x509.validTo, fingerprint: x509.fingerprint256, version };
}

export interface TlsListener {
  readonly address: string;
  readonly tls?: ServerTlsConfig | undefined;
}

export interface ServerTlsOptions {
  readonly logger: Logger;
  /** Quiet time after the last file event before the files are read again. */
  readonly debounceMs?: number;
  /** Watch the files' directories (default true). */
  readonly watch?: boolean;
}

/** The current context of each TLS listener, swapped whole; sessions read it when they start. */
export class ServerTlsContexts {
  private readonly current = new Map<string, LoadedTls>();
  private listeners: readonly TlsListener[] = [];
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: ServerTlsOptions) {}

  get(address: string): SecureContext | null {
    return this.current.get(address)?.context ?? null;
  }

  /** What a listener serves now (for logs and tests). */
  info(address: string): Omit<LoadedTls, 'context'> | null {
    const l = this.current.get(address);
    return l ? { subject: l.subject, notAfter: l.notAfter, fingerprint: l.fingerprint, version: l.version } : null;
  }

  /**
   * Takes the listeners of a (new) config and loads their pairs. `strict` (at start): a bad pair
   * throws. Otherwise a bad pair is logged and the listener keeps the context it had (if any).
   */
  apply(listeners: readonly TlsListener[], strict: boolean): void {
    const failures: string[] = [];
    const next = new Map<string, LoadedTls>();
    for (const l of listeners) {
      if (!l.tls) continue;
      try {
        next.set(l.address, loadServerTls(l.tls));
      } catch (e) {
        const reason = e instanceof TlsLoadError ? e.message : String(e);
        if (strict) failures.push(`${l.address}: ${reason}`);
        const old = this.current.get(l.address);
        this.o.logger.error('tls.reload-failed', { listener: l.address, reason, kept: old ? old.subject : null });
        if (old) next.set(l.address, old);
      }
    }
    if (failures.length > 0) throw new TlsLoadError(failures.join('; '));
    for (const [address, t] of next) {
      if (this.current.get(address)?.version !== t.version) this.o.logger.info('tls.loaded', { listener: address, subject: t.subject, notAfter: t.notAfter, fingerprint: t.fingerprint });
    }
    this.current.clear();
    for (const [a, t] of next) this.current.set(a, t);
    this.listeners = listeners;
    this.rewatch();
  }

  /** Reads every pair again; a changed, valid pair replaces the old one (the file-watch path). */
  recheck(): void {
    for (const l of this.listeners) {
      if (!l.tls) continue;
      const old = this.current.get(l.address);
      let t: LoadedTls;
      try {
        t = loadServerTls(l.tls);
      } catch (e) {
        this.o.logger.error('tls.reload-failed', { listener: l.address, reason: e instanceof TlsLoadError ? e.message : String(e), kept: old ? old.subject : null });
        continue;
      }
      if (old?.version === t.version) continue;
      this.current.set(l.address, t);
      this.o.logger.info('tls.reloaded', { listener: l.address, subject: t.subject, notAfter: t.notAfter, fingerprint: t.fingerprint, trigger: 'file-change' });
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private rewatch(): void {
    if (this.o.watch === false || this.closed) return;
    const dirs = new Set(this.listeners.flatMap((l) => (l.tls ? [l.tls.cert, l.tls.key, ...(l.tls.ca ? [l.tls.ca] : [])] : [])).map((f) => dirname(f)));
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        // A directory watch sees a file replaced by rename (certbot's symlink swap, `mv new cert.pem`)
        // as well as one rewritten in place; the debounce lets cert and key both land first.
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', (e) => {
          this.o.logger.error('tls.reload-failed', { directory: dir, reason: `watch failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}; SIGHUP reloads` });
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch (e) {
        this.o.logger.error('tls.reload-failed', { directory: dir, reason: `cannot watch: ${(e as NodeJS.ErrnoException).code ?? String(e)}; SIGHUP reloads` });
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.recheck();
    }, this.o.debounceMs ?? 500);
    this.timer.unref();
  }
}
