/**
 * Delivery of one message to the recipients of one domain: pick the route, try its hosts in order,
 * run one SMTP transaction on a pooled connection, and turn the replies into per-recipient outcomes
 * (2xx delivered, 4xx retry, 5xx failed). Connection-level trouble moves on to the next host and, when
 * every host failed, means "retry later" — never a bounce. The downstream's reply text goes only into
 * logs and DSNs, never to an internet client. Only our own client is used: no vendor extension ever.
 * A host under DANE (dane.ts) that fails (no STARTTLS, no matching TLSA record) is a connection-level
 * failure like any other: the next host is tried, and when none delivered the recipients wait with
 * 4.7.5 (as under MTA-STS enforce); each DANE decision and result goes to `onDane` for the logs.
 */
import type { Resolver } from '../platform/dns/index.js';
import type { Deliverer } from '../queue/scheduler.js';
import type { StoredMessage } from '../queue/spool.js';
import { outgoingEightBit, outgoingSize } from '../queue/outgoing.js';
import type { RecipientOutcome } from '../queue/state.js';
import { isSmtpClientError, recipientOutcomes, type Envelope as ClientEnvelope } from '../smtp/client/index.js';
import { replyToString, type SmtpReply } from '../smtp/reply.js';
import type { DomainConfig } from './config.js';
import type { DaneHost, DaneState } from './dane.js';
import type { ConnectionPool } from './pool.js';
import { routeFor, type Hop, type RouteOptions, type TlsChoice } from './routes.js';

export interface RelayDeps {
  readonly pool: ConnectionPool;
  readonly resolver: Resolver;
  readonly domains: () => Readonly<Record<string, DomainConfig>>;
  /** MX port, transports and MTA-STS for one message (outbound mail and DSNs differ in port). */
  readonly routeOptions: (m: StoredMessage) => RouteOptions;
  readonly content: (m: StoredMessage) => AsyncIterable<Buffer>;
  /** MTA-STS testing mode: what enforce mode would have refused (logged as outbound.mta-sts). */
  readonly onStsViolation?: (queueId: string, domain: string, detail: string) => void;
  /** DANE (RFC 7672): each decision for an MX host and, for a host under DANE, what the TLS session showed. */
  readonly onDane?: (queueId: string, domain: string, event: DaneEvent) => void;
}

export interface DaneEvent {
  readonly mx: string;
  readonly state: DaneState;
  readonly detail: string;
  /** The address tried, with the result of the try (hosts under DANE only): 'tls' for unusable records only. */
  readonly ip?: string;
  readonly result?: 'matched' | 'tls' | 'refused';
}

function statusOf(r: SmtpReply): string {
  return r.status ?? `${String(r.code)[0]}.0.0`;
}

function outcome(index: number, r: SmtpReply, hop: Hop, serverTakesDsn: boolean, security: string | undefined): RecipientOutcome {
  const kind = r.code < 300 ? 'delivered' : r.code < 500 ? 'retry' : 'failed';
  return {
    index, kind, reply: replyToString(r), dsnStatus: statusOf(r), remoteMta: hop.name, relayedWithoutDsn: kind === 'delivered' && !serverTakesDsn,
    ...(security !== undefined ? { security } : {}),
  };
}

function all(indices: readonly number[], kind: RecipientOutcome['kind'], reply: string, status: string, remote: string | null): RecipientOutcome[] {
  return indices.map((index) => ({ index, kind, reply, dsnStatus: status, remoteMta: remote }));
}

export class RelayDeliverer implements Deliverer {
  constructor(private readonly deps: RelayDeps) {}

  async deliver(message: StoredMessage, indices: readonly number[], signal: AbortSignal): Promise<RecipientOutcome[]> {
    const env = message.envelope;
    const domain = env.recipients[indices[0] ?? 0]?.domain ?? '';
    const onDane = this.deps.onDane;
    const route = await routeFor(domain, this.deps.domains(), this.deps.resolver, {
      ...this.deps.routeOptions(message),
      ...(onDane ? { onDane: (mx: string, d: DaneHost) => onDane(env.id, domain, { mx, state: d.state, detail: d.detail }) } : {}),
    });
    if (route.kind === 'defer') return all(indices, 'retry', route.reason, route.status, null);
    if (route.kind === 'fail') return all(indices, 'failed', route.reason, route.status, null);

    const envelope: ClientEnvelope = {
      from: env.from,
      size: outgoingSize(message),
      body8bit: outgoingEightBit(message),
      needsSmtpUtf8: env.smtputf8,
      ret: env.ret,
      envid: env.envid,
      recipients: indices.map((i) => {
        const r = env.recipients[i];
        if (!r) throw new Error(`recipient ${i} missing in ${env.id}`);
        return { address: r.address, notify: r.notify, orcpt: r.orcpt };
      }),
    };
    let lastProblem = 'no host could be reached';
    let lastTemporary: RecipientOutcome[] | null = null;
    for (const hop of route.hops) {
      if (signal.aborted) break;
      if (hop.stsViolation) this.deps.onStsViolation?.(env.id, domain, hop.stsViolation);
      const r = await this.tryHop(hop, hop.tls ?? route.tls, envelope, message, indices, signal);
      if (hop.dane && hop.tls?.policy === 'required') {
        const detail = r.kind === 'done' ? (r.security ?? 'TLS') : r.problem;
        const result = r.kind !== 'done' ? 'refused' : hop.dane.state === 'dane' ? 'matched' : 'tls';
        onDane?.(env.id, domain, { mx: hop.name, ip: hop.host, state: hop.dane.state, detail, result });
      }
      if (r.kind === 'done') {
        // RFC 5321 §5.1: an MX host that defers every recipient is no answer yet; the next one may take them.
        if (!route.mx || r.outcomes.some((o) => o.kind !== 'retry')) {
          if (route.sts?.mode === 'testing' && r.tlsProblem) this.deps.onStsViolation?.(env.id, domain, `${hop.name}: ${r.tlsProblem}`);
          return r.outcomes;
        }
        lastTemporary = r.outcomes;
        lastProblem = `${hop.name}: ${r.outcomes[0]?.reply ?? 'deferred'}`;
        continue;
      }
      lastProblem = `${hop.name}: ${r.problem}`;
    }
    // RFC 7672 §2.2 / RFC 8461 §4.2: no host with the TLS the domain asks for: 4.7.5, wait and retry.
    return lastTemporary ?? all(indices, 'retry', lastProblem, route.sts?.mode === 'enforce' || route.dane === true ? '4.7.5' : '4.4.1', null);
  }

  private async tryHop(
    hop: Hop,
    tls: TlsChoice,
    envelope: ClientEnvelope,
    message: StoredMessage,
    indices: readonly number[],
    signal: AbortSignal,
  ): Promise<{ kind: 'done'; outcomes: RecipientOutcome[]; tlsProblem?: string; security?: string } | { kind: 'next'; problem: string }> {
    // A reused connection may have been closed by the server meanwhile: one fresh retry is fair.
    for (let round = 0; round < 2; round++) {
      let lease;
      try {
        lease = await this.deps.pool.acquire(hop, tls, signal);
      } catch (e) {
        return { kind: 'next', problem: describe(e) };
      }
      try {
        const result = await lease.connection.send(envelope, this.deps.content(message), signal);
        if (result.kind === 'precondition') {
          return { kind: 'done', outcomes: all(indices, 'failed', result.text, result.status, hop.name) };
        }
        // The whole server said 4xx/5xx before any recipient (e.g. 421 at MAIL): other hosts may do better.
        if (result.mail.code === 421) return { kind: 'next', problem: replyToString(result.mail) };
        const replies = recipientOutcomes(result);
        const info = lease.connection.info;
        const tlsProblem = !info.secure ? 'no TLS' : info.tlsVerified ? undefined : `certificate not valid for ${hop.name} (${info.tlsProblem ?? 'unverified'})`;
        const security = info.dane !== undefined ? `DANE ${info.dane}` : hop.dane?.state === 'unusable' && info.secure ? 'TLS (DANE: unusable TLSA records only)' : undefined;
        const outcomes = replies.map((r, i) => outcome(indices[i] as number, r, hop, lease.connection.capabilities.dsn, security));
        return { kind: 'done', outcomes, ...(tlsProblem ? { tlsProblem } : {}), ...(security !== undefined ? { security } : {}) };
      } catch (e) {
        if (lease.reused && round === 0 && isSmtpClientError(e) && e.transient && !signal.aborted) continue;
        return { kind: 'next', problem: describe(e) };
      } finally {
        lease.release();
      }
    }
    return { kind: 'next', problem: 'connection lost' };
  }
}

function describe(e: unknown): string {
  if (isSmtpClientError(e)) return e.reply ? `${e.code} (${replyToString(e.reply)})` : `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
