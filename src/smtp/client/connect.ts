/**
 * Opening a connection: TCP to an IP address (never a name), the 220 greeting (RFC 5321 §4.3.1),
 * EHLO with a HELO fallback when EHLO is refused with 5xx (§4.1.4, §3.2), then STARTTLS per policy
 * (RFC 3207) and EHLO again over TLS, forgetting what the plaintext EHLO said (§4.2). Trusts the
 * options only after resolveOptions; trusts the server for nothing. Fails with SmtpClientError:
 * CONNECT_FAILED, TIMEOUT, ABORTED, CLOSED, PROTOCOL, SERVICE_UNAVAILABLE, REJECTED (greeting or
 * HELO refused), TLS_REQUIRED, TLS_FAILED (also: a DANE chain matching no TLSA record, tlsa.ts).
 * The socket is destroyed on every failure.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { SmtpReply } from '../reply.js';
import { HELO_CAPABILITIES, parseCapabilities, type Capabilities } from './capabilities.js';
import { SmtpConnection } from './connection.js';
import { SmtpClientError } from './errors.js';
import { resolveOptions, type ConnectOptions, type ResolvedOptions } from './options.js';
import { matchDane, presentedChain } from './tlsa.js';
import { Transport } from './transport.js';

export async function connect(options: ConnectOptions, signal: AbortSignal): Promise<SmtpConnection> {
  const o = resolveOptions(options);
  let t = new Transport(await openSocket(o, signal), o.limits);
  try {
    const greeting = await t.readReply(o.timeouts.greeting, signal, 'greeting');
    if (greeting.code !== 220) throw refused('greeting', greeting);
    let hello = await sayHello(t, o, signal);
    let secure = false;
    let verified: { tlsVerified: boolean; tlsProblem: string | null; dane?: string } = { tlsVerified: false, tlsProblem: null };
    if (o.tls.policy !== 'none') {
      const ready = hello.caps.startTls ? await t.command('STARTTLS', o.timeouts.command, signal) : null;
      if (ready?.code === 220) {
        const { socket, dane } = await startTls(t.detach(), o, signal);
        t = new Transport(socket, o.limits);
        secure = true;
        const why = socket.authorizationError;
        verified =
          dane !== null
            ? { tlsVerified: true, tlsProblem: null, dane }
            : { tlsVerified: socket.authorized, tlsProblem: socket.authorized ? null : why instanceof Error ? why.message : typeof why === 'string' ? why : 'unverified' };
        // RFC 3207 §4.2: discard all knowledge from before TLS and issue EHLO again.
        hello = await sayHello(t, o, signal);
      } else if (o.tls.policy === 'required') {
        // XXX: we drop the connection without QUIT; the server logs a lost connection, nothing worse.
        const why = ready ? `STARTTLS refused with ${ready.code}` : 'server does not offer STARTTLS';
        throw new SmtpClientError('TLS_REQUIRED', `TLS required but ${why}`, { transient: true, reply: ready });
      }
      // Opportunistic and refused (e.g. 454, RFC 3207 §4): the plaintext session goes on.
    }
    return new SmtpConnection(t, o, { secure, ...verified, greeting, hello: hello.reply, capabilities: hello.caps });
  } catch (e) {
    const err = e instanceof SmtpClientError ? e : new SmtpClientError('PROTOCOL', String(e), { transient: true, cause: e });
    t.fail(err);
    throw err;
  }
}

function refused(what: string, reply: SmtpReply): SmtpClientError {
  const code = reply.code >= 400 ? 'REJECTED' : 'PROTOCOL';
  // A 5xx greeting or HELO is the server refusing us; the relay may still choose to defer.
  return new SmtpClientError(code, `${what} answered ${reply.code}`, { transient: reply.code < 500, reply });
}

async function sayHello(t: Transport, o: ResolvedOptions, signal: AbortSignal): Promise<{ reply: SmtpReply; caps: Capabilities }> {
  const ehlo = await t.command(`EHLO ${o.heloName}`, o.timeouts.command, signal);
  if (ehlo.code === 250) return { reply: ehlo, caps: parseCapabilities(ehlo) };
  // RFC 5321 §3.2: a server that does not know EHLO answers 500/502 (or another 5xx); try HELO.
  if (ehlo.code < 500) throw refused('EHLO', ehlo);
  const helo = await t.command(`HELO ${o.heloName}`, o.timeouts.command, signal);
  if (helo.code === 250) return { reply: helo, caps: HELO_CAPABILITIES };
  throw refused('HELO', helo);
}

function openSocket(o: ResolvedOptions, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(new SmtpClientError('ABORTED', 'aborted before connect', { transient: true }));
      return;
    }
    const socket = netConnect({
      host: o.host,
      port: o.port,
      ...(o.localAddress === null ? {} : { localAddress: o.localAddress }),
    });
    const settle = (err: SmtpClientError | null): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (err) {
        socket.on('error', () => undefined);
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => {
      socket.setNoDelay(true); // Pipelined groups and short commands should not wait for Nagle.
      socket.setKeepAlive(true, 60_000); // Pooled connections: notice a dead peer.
      settle(null);
    };
    const onError = (err: Error): void =>
      settle(new SmtpClientError('CONNECT_FAILED', `connect to ${o.host}:${o.port} failed: ${err.message}`, { transient: true, cause: err }));
    const onAbort = (): void => settle(new SmtpClientError('ABORTED', 'aborted during connect', { transient: true }));
    const timer = setTimeout(
      () => settle(new SmtpClientError('TIMEOUT', `connect to ${o.host}:${o.port} timed out after ${o.timeouts.connect} ms`, { transient: true })),
      o.timeouts.connect,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The TLS handshake on the socket that got "220" to STARTTLS. Failure is TLS_FAILED; with the
 * opportunistic policy it carries retryWithoutTls: this connection is unusable (the server expects
 * TLS bytes now, RFC 3207 §4.1), but the caller may open a new one with tls: 'none'.
 */
function startTls(raw: Socket, o: ResolvedOptions, signal: AbortSignal): Promise<{ socket: TLSSocket; dane: string | null }> {
  return new Promise<{ socket: TLSSocket; dane: string | null }>((resolve, reject) => {
    const servername = o.tls.servername;
    const dane = o.tls.dane;
    // Errors now surface on the TLS socket; keep a stray one on the raw socket from crashing us.
    raw.on('error', () => undefined);
    const socket = tlsConnect({
      socket: raw,
      // DANE replaces WebPKI verification: the chain is matched against TLSA records after the handshake.
      rejectUnauthorized: dane === undefined && o.tls.verify,
      // Without a servername the certificate is checked against the IP we connected to (no SNI:
      // RFC 6066 §3 forbids IP addresses there). Node alone would check the name "localhost".
      ...(servername !== undefined && isIP(servername) === 0 ? { servername } : {}),
      checkServerIdentity: (_host, cert) => checkServerIdentity(servername ?? o.host, cert),
      ...(o.tls.ca === undefined ? {} : { ca: Buffer.isBuffer(o.tls.ca) ? o.tls.ca : [...o.tls.ca] }),
    });
    const retryWithoutTls = o.tls.policy === 'opportunistic' && dane === undefined;
    let matched: string | null = null;
    const settle = (err: SmtpClientError | null): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.on('error', () => undefined);
        socket.destroy();
        raw.destroy();
        reject(err);
      } else {
        resolve({ socket, dane: matched });
      }
    };
    const onSecure = (): void => {
      if (dane === undefined) return settle(null);
      // RFC 7672 §3: no match, no delivery to this host (and never in clear).
      const m = matchDane(presentedChain(socket.getPeerCertificate(true)), dane, new Date());
      if (!m.ok) return settle(new SmtpClientError('TLS_FAILED', `DANE: ${m.problem}`, { transient: true, retryWithoutTls: false }));
      matched = m.matched;
      settle(null);
    };
    const onError = (err: Error): void =>
      settle(new SmtpClientError('TLS_FAILED', `TLS handshake failed: ${err.message}`, { transient: true, retryWithoutTls, cause: err }));
    const onClose = (): void =>
      settle(new SmtpClientError('TLS_FAILED', 'connection closed during the TLS handshake', { transient: true, retryWithoutTls }));
    const onAbort = (): void => settle(new SmtpClientError('ABORTED', 'aborted during the TLS handshake', { transient: true }));
    const timer = setTimeout(
      () => settle(new SmtpClientError('TIMEOUT', `TLS handshake timed out after ${o.timeouts.connect} ms`, { transient: true, retryWithoutTls })),
      o.timeouts.connect,
    );
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
