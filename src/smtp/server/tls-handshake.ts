/**
 * The server side of a TLS handshake on an SMTP connection: after "220 Ready to start TLS"
 * (STARTTLS, RFC 3207) or at once on an implicit-TLS listener (RFC 8314 §3). No client certificate
 * is asked for: senders are judged by policy, and submitters by SMTP AUTH. Octets the client sent
 * before the handshake started and that are part of it (an implicit-TLS ClientHello read while the
 * connection was being admitted) are handed back to the socket so that OpenSSL sees them.
 * Fails: rejects with a HandshakeFailure (why: OpenSSL's reason or an errno, never data; and
 * whether it was a timeout or the client closing); both sockets are destroyed then.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';

export class HandshakeFailure extends Error {
  constructor(
    readonly reason: string,
    readonly kind: 'timeout' | 'closed' | 'error',
  ) {
    super(reason);
  }
}

function tlsFailure(e: Error): string {
  const x = e as Error & { reason?: unknown; code?: unknown };
  return typeof x.reason === 'string' ? x.reason : typeof x.code === 'string' ? x.code : 'handshake failed';
}

export function serverHandshake(plain: Socket, context: SecureContext, timeoutMs: number, early: Buffer | null = null): Promise<TLSSocket> {
  // Must stay synchronous up to the TLSSocket: it reads what is buffered on `plain` when it wraps it.
  if (early && early.length > 0) plain.unshift(early);
  const secure = new TLSSocket(plain, { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false });
  secure.on('error', () => undefined);
  return new Promise<TLSSocket>((resolve, reject) => {
    let settled = false;
    const fail = (f: HandshakeFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      secure.destroy();
      plain.destroy();
      reject(f);
    };
    const t = setTimeout(() => fail(new HandshakeFailure('handshake timeout', 'timeout')), timeoutMs);
    secure.once('secure', () => {
      settled = true;
      clearTimeout(t);
      resolve(secure);
    });
    secure.once('error', (e) => fail(new HandshakeFailure(tlsFailure(e), 'error')));
    secure.once('close', () => fail(new HandshakeFailure('closed during the handshake', 'closed')));
  });
}
