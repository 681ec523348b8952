/**
 * The recipient prober (port in src/checks/recipients/ports.ts): asks one of our domains' LAN servers
 * whether it takes an address, on a new connection of its own (not the delivery pool's), with the
 * domain's STARTTLS policy: EHLO, MAIL FROM:<sender>, RCPT TO:<address>, RSET, QUIT — never DATA,
 * so nothing is ever delivered by a probe. Hosts are tried in order; the next one only after a
 * connection-level failure (refused, timeout, 421, TLS), as delivery does. Trusts: the server for
 * nothing (the check classifies its replies); the caller's signal bounds the whole probe.
 * Fails: never throws; every failure is an 'unreachable' outcome with a reason for the logs.
 */
import type { ProbeOutcome, RecipientProber } from '../checks/recipients/ports.js';
import { isSmtpClientError, type SmtpConnection } from '../smtp/client/index.js';
import { replyToString } from '../smtp/reply.js';
import type { DomainConfig } from './config.js';
import { lanHops, type Hop, type TlsChoice } from './routes.js';

export interface ProberDeps {
  readonly domains: () => Readonly<Record<string, DomainConfig>>;
  readonly connect: (hop: Hop, tls: TlsChoice, signal: AbortSignal) => Promise<SmtpConnection>;
}

function describe(e: unknown): string {
  if (isSmtpClientError(e)) return e.reply ? `${e.code} (${replyToString(e.reply)})` : `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export class SmtpRecipientProber implements RecipientProber {
  constructor(private readonly deps: ProberDeps) {}

  async probe(domain: string, address: string, sender: string, signal: AbortSignal): Promise<ProbeOutcome> {
    const own = this.deps.domains()[domain];
    if (!own) return { kind: 'unreachable', problem: `${domain} is not one of our domains` };
    const problems: string[] = [];
    for (const hop of lanHops(own)) {
      if (signal.aborted) break;
      let conn: SmtpConnection;
      try {
        conn = await this.deps.connect(hop, own.tls, signal);
      } catch (e) {
        problems.push(`${hop.name}: ${describe(e)}`);
        continue;
      }
      try {
        const r = await conn.verifyRecipient(sender, address, signal);
        if (r.kind === 'precondition') return { kind: 'unreachable', problem: `${hop.name}: ${r.text}` };
        return { kind: 'answered', host: hop.name, mail: r.mail, rcpt: r.rcpt };
      } catch (e) {
        problems.push(`${hop.name}: ${describe(e)}`);
      } finally {
        // The answer does not wait for the server's 221.
        void conn.quit(AbortSignal.timeout(2000));
      }
    }
    if (signal.aborted) problems.push('probe deadline passed');
    return { kind: 'unreachable', problem: problems.join('; ') || 'no LAN server' };
  }
}
