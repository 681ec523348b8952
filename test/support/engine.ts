/**
 * The protocol engine alone (SmtpListener + Session) on a free loopback port, with a tiny handler
 * that accepts everything and keeps nothing, for engine tests with real clients. Limits are small
 * defaults a test overrides; every connection's ConnectionInfo, close reason and limit event is
 * recorded for assertions.
 */
import { LocalGate, type AdmissionLimits, type LimitName } from '../../src/smtp/server/admission.js';
import type { SecureContext } from 'node:tls';
import type { AuthCredentials, AuthMechanism, CloseReason, ConnectionInfo, EarlyTalk, GreetingPlan, SessionHandler } from '../../src/smtp/server/handler.js';
import { parseCidr, type Cidr } from '../../src/smtp/server/ip.js';
import { SmtpListener, type ListenerSettings, type RefusalReason } from '../../src/smtp/server/listener.js';
import type { ServerLimits, ServerOptions } from '../../src/smtp/server/options.js';
import * as R from '../../src/smtp/reply.js';
import type { SmtpReply } from '../../src/smtp/reply.js';
import { freePort } from '../harness/ports.js';

export interface EngineOptions {
  readonly hostname?: string;
  readonly limits?: Partial<ServerLimits>;
  readonly admission?: Partial<AdmissionLimits>;
  readonly proxy?: { readonly trusted: readonly string[]; readonly timeoutMs?: number };
  /** What connect() answers (default null: greet at once). */
  readonly connect?: () => SmtpReply | GreetingPlan | null;
  /** greeted() of the handler; absent: the handler has no greeted method. */
  readonly greeted?: (early: EarlyTalk) => SmtpReply | null;
  /** STARTTLS (or implicit TLS) with this context. */
  readonly tls?: SecureContext;
  readonly implicitTls?: boolean;
  readonly requireTls?: boolean;
  /** Offer AUTH PLAIN LOGIN; the handler's authenticate() answers with this. */
  readonly authenticate?: (mechanism: AuthMechanism, credentials: AuthCredentials) => SmtpReply;
}

export interface Engine {
  readonly port: number;
  readonly sessions: ConnectionInfo[];
  readonly closed: CloseReason[];
  readonly early: EarlyTalk[];
  readonly limits: { client: string; limit: LimitName | 'errors' | 'command-rate'; reply: string }[];
  readonly refused: { peer: string; reason: RefusalReason }[];
  /** Messages received, as text. */
  readonly messages: string[];
  /** Usernames (never passwords) the handler was asked about, with the mechanism. */
  readonly auths: { mechanism: AuthMechanism; username: string; authzid: string }[];
  stop(): Promise<void>;
}

export const ENGINE_LIMITS: ServerLimits = {
  maxMessageSize: 1 << 20,
  maxHeaderSize: 64 << 10,
  maxRecipients: 10,
  maxErrors: 10,
  tarpit: { afterErrors: 100, delayMs: 0, maxDelayMs: 0 },
  commandRate: null,
  commandTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  dataTimeoutMs: 30_000,
  sessionTimeoutMs: 60_000,
  pipelineBuffer: 64 << 10,
};

export async function startEngine(o: EngineOptions = {}): Promise<Engine> {
  const port = await freePort();
  const e: Engine = { port, sessions: [], closed: [], early: [], limits: [], refused: [], messages: [], auths: [], stop: async () => undefined };
  const options: ServerOptions = {
    hostname: o.hostname ?? 'mx.engine.test',
    tls: o.tls ?? null,
    limits: { ...ENGINE_LIMITS, ...o.limits },
    implicitTls: o.implicitTls ?? false,
    requireTls: o.requireTls ?? false,
    auth: o.authenticate ? { mechanisms: ['PLAIN', 'LOGIN'] } : null,
  };
  const admission: AdmissionLimits = { maxConnections: 1000, maxConnectionsPerIp: 1000, maxConnectionsPerNet: 1000, connectionRate: null, ...o.admission };
  const settings: ListenerSettings = o.proxy
    ? { proxyProtocol: true, trustedProxies: o.proxy.trusted.map((c) => parseCidr(c) as Cidr), proxyTimeoutMs: o.proxy.timeoutMs ?? 2000 }
    : { proxyProtocol: false, trustedProxies: [], proxyTimeoutMs: 0 };
  const handler = (info: ConnectionInfo): SessionHandler => {
    e.sessions.push(info);
    const h: SessionHandler = {
      connect: () => Promise.resolve(o.connect ? o.connect() : null),
      helo: () => Promise.resolve(null),
      mailFrom: () => Promise.resolve(null),
      rcptTo: () => Promise.resolve(null),
      openMessage: () => {
        const parts: Buffer[] = [];
        return Promise.resolve({
          write: (chunks: readonly Buffer[]) => {
            parts.push(...chunks);
            return Promise.resolve();
          },
          finish: () => {
            e.messages.push(Buffer.concat(parts).toString('latin1'));
            return Promise.resolve(R.queued('TEST'));
          },
          abort: () => Promise.resolve(),
        });
      },
      reset: () => undefined,
      tlsStarted: () => undefined,
      close: (reason) => {
        e.closed.push(reason);
      },
    };
    const authenticate = o.authenticate;
    if (authenticate) {
      h.authenticate = (mechanism, credentials) => {
        e.auths.push({ mechanism, username: credentials.username, authzid: credentials.authzid });
        return Promise.resolve(authenticate(mechanism, credentials));
      };
    }
    const greeted = o.greeted;
    if (greeted) {
      h.greeted = (early) => {
        e.early.push(early);
        return Promise.resolve(greeted(early));
      };
    }
    return h;
  };
  const listener = new SmtpListener({
    options: () => options,
    settings: () => settings,
    gate: new LocalGate(() => admission),
    openSession: handler,
    hooks: {
      onInternalError: (ref, err) => {
        throw new Error(`internal error ${ref}: ${String(err)}`);
      },
      onLimit: (info, limit, reply) => e.limits.push({ client: info.remoteAddress, limit, reply: R.replyToString(reply) }),
    },
    events: {
      limit: (client, limit, reply) => e.limits.push({ client: client.address, limit, reply: R.replyToString(reply) }),
      refused: (peer, reason) => e.refused.push({ peer: peer.address, reason }),
    },
  });
  await listener.listen(`127.0.0.1:${port}`);
  return { ...e, stop: () => listener.close(1000) };
}
