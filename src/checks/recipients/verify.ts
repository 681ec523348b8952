/**
 * Recipient verification by asking the LAN server itself (Postfix's reject_unverified_recipient):
 * a probe is MAIL FROM:<sender> and RCPT TO:<address> on a new connection, never DATA. RCPT 2xx:
 * the address exists; a 5xx about the mailbox (RFC 3463 X.1.x, X.2.x, or 550/551/553 without an
 * enhanced status): it does not; anything else — 4xx, a refused MAIL, a 5xx about policy (X.7.x),
 * 552 (RFC 5321 §4.5.3.1.10: treat as 452), no answer — means "cannot tell now".
 *
 * Answers are cached in the state store (shared by the workers): "exists" for positiveTtl, "does
 * not exist" for negativeTtl, "cannot tell" never; so a dictionary attack costs at most one probe
 * per address and TTL. Within a worker, lookups of one address share one probe, and at most
 * maxConcurrent probes run at once (the rest wait, within their phase deadline).
 * Trusts: the prober port for the replies, the state store for what it cached. Fails toward 4xx: a
 * store failure only costs the cache (the probe is made), a probe failure is "unavailable".
 */
import { deadline } from '../../platform/deadline.js';
import type { StateStore } from '../../store/state.js';
import { replyToString, type SmtpReply } from '../../smtp/reply.js';
import type { LookupAddress } from './address.js';
import type { ProbeOutcome, RecipientProber } from './ports.js';
import type { Answer, Source } from './source.js';

/** What a probe's replies say about the address. */
export function classifyProbe(o: ProbeOutcome): Answer {
  if (o.kind === 'unreachable') return { kind: 'unavailable', detail: o.problem };
  const said = (r: SmtpReply): string => `${o.host} said ${replyToString(r)}`;
  if (o.mail.code >= 300 || o.rcpt === null) return { kind: 'unavailable', detail: `MAIL refused: ${said(o.mail)}` };
  const r = o.rcpt;
  if (r.code < 300) return { kind: 'found', detail: said(r) };
  if (r.code < 500 || r.code === 552) return { kind: 'unavailable', detail: said(r) };
  const subject = r.status?.split('.')[1];
  const aboutMailbox = subject === undefined ? [550, 551, 553].includes(r.code) : subject === '1' || subject === '2';
  return aboutMailbox ? { kind: 'unknown', detail: said(r) } : { kind: 'unavailable', detail: `not about the mailbox: ${said(r)}` };
}

/** One probe per address at a time, and at most `max` at once: shared by every domain of a check. */
export class ProbeGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inflight = new Map<string, Promise<Answer>>();

  constructor(private readonly max: number) {}

  get running(): number {
    return this.active;
  }

  run(key: string, probe: () => Promise<Answer>, signal: AbortSignal): Promise<Answer> {
    const shared = this.inflight.get(key);
    if (shared) return untilAborted(shared, signal);
    const p = (async () => {
      await this.acquire(signal);
      try {
        return await probe();
      } finally {
        this.release();
      }
    })();
    this.inflight.set(key, p);
    const forget = (): void => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    };
    p.then(forget, forget);
    return p;
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error('deadline passed while waiting for a probe slot'));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(go);
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

function untilAborted(p: Promise<Answer>, signal: AbortSignal): Promise<Answer> {
  if (signal.aborted) return Promise.resolve({ kind: 'unavailable', detail: 'deadline passed' });
  return new Promise<Answer>((resolve) => {
    const onAbort = (): void => resolve({ kind: 'unavailable', detail: 'deadline passed waiting for the probe of another session' });
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (a: Answer): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    };
    p.then(settle, (e: unknown) => settle({ kind: 'unavailable', detail: e instanceof Error ? e.message : String(e) }));
  });
}

export interface VerifyDeps {
  readonly prober: RecipientProber;
  readonly state: StateStore;
  readonly gate: ProbeGate;
  readonly positiveTtl: number;
  readonly negativeTtl: number;
  readonly timeout: number;
}

export const VERIFY_CACHE_PREFIX = 'recipients:verify:';

export class VerifySource implements Source {
  constructor(
    readonly name: string,
    private readonly domain: string,
    private readonly sender: string,
    private readonly deps: VerifyDeps,
  ) {}

  async lookup(a: LookupAddress, _base: LookupAddress | null, signal: AbortSignal): Promise<Answer> {
    const key = `${VERIFY_CACHE_PREFIX}${a.key}`;
    const cached = await this.deps.state.get(key).catch(() => null);
    if (cached === '1') return { kind: 'found', detail: 'cached: exists' };
    if (cached === '0') return { kind: 'unknown', detail: 'cached: does not exist' };
    try {
      return await this.deps.gate.run(key, () => this.probe(a, key, signal), signal);
    } catch (e) {
      return { kind: 'unavailable', detail: e instanceof Error ? e.message : String(e) };
    }
  }

  private async probe(a: LookupAddress, key: string, signal: AbortSignal): Promise<Answer> {
    const d = deadline(this.deps.timeout, [signal]);
    const outcome = await this.deps.prober.probe(this.domain, a.asSent, this.sender, d.signal).finally(d.clear);
    const answer = classifyProbe(outcome);
    // A lost cache entry only costs another probe later; it never changes this answer.
    if (answer.kind === 'found') await this.deps.state.set(key, '1', this.deps.positiveTtl).catch(() => undefined);
    if (answer.kind === 'unknown') await this.deps.state.set(key, '0', this.deps.negativeTtl).catch(() => undefined);
    return answer;
  }
}
