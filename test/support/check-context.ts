/**
 * What a check's unit test needs to call its phase methods the way the pipeline does: a session, a
 * phase context with fresh facts, mailboxes parsed by the real parser, and Moat's resolver pointed
 * at a test DNS server (dnsmasq or the scripted one), never the system's.
 */
import { createResolver, dnsSchema, type Resolver } from '../../src/platform/dns/index.js';
import type { PhaseContext, SessionFacts, SessionInfo, TransactionFacts } from '../../src/pipeline/types.js';
import { parseMailbox, type Domain, type Mailbox } from '../../src/smtp/address.js';
import type { MailParams } from '../../src/smtp/params.js';
import type { Clock } from '../../src/platform/clock.js';

export function session(clientIp = '127.0.0.1'): SessionInfo {
  return { id: 'test-session', clientIp, clientPort: 40000, localIp: '127.0.0.1', localPort: 25 };
}

export function context(o: { clientIp?: string; helo?: string; isLocal?: (d: Domain) => boolean } = {}): PhaseContext & { readonly tx: TransactionFacts; readonly facts: SessionFacts } {
  return {
    session: session(o.clientIp),
    facts: o.helo === undefined ? {} : { helo: o.helo },
    tx: { authResults: [] },
    isLocal: o.isLocal ?? ((d) => d === 'example.test'),
  };
}

export function mailbox(s: string): Mailbox {
  const r = parseMailbox(s);
  if (!r.ok) throw new Error(`not a mailbox: ${s}`);
  return r.value;
}

export const NO_PARAMS: MailParams = { size: null, body: null, smtputf8: false, ret: null, envid: null };

/** Moat's resolver asking only `server`, one try of `timeout`. */
export function resolverFor(server: string, timeout = '2s'): Resolver {
  const cfg = dnsSchema.parse({ servers: [server], timeout, tries: 1 });
  return createResolver({ ...cfg, servers: [server] });
}

/** A clock the test moves by hand; timers never fire (the checks under test only read the time). */
export class ManualClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  setTimer(): { cancel(): void } {
    return { cancel: () => undefined };
  }
}
