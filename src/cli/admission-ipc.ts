/**
 * Gateway-wide connection limits over the cluster IPC channel (docs/adr/0003-gateway-wide-limits.md).
 * node:cluster hands connections to the workers round-robin, so no worker alone can count the whole
 * gateway: each worker asks the supervisor for a slot once it knows the client's address (after the
 * PROXY header, if any) and gives it back when the session ends. The supervisor keeps the one
 * AdmissionTable and forgets every slot of a worker that exits.
 * Trusts: the workers (our own processes). Fails safe toward 4xx: a supervisor that does not answer
 * within the bound is a refusal ('unavailable', 421 4.3.2); a grant that arrives after that is
 * given back at once, so no slot leaks.
 */
import { AdmissionTable, type Admission, type AdmissionLimits, type ConnectionGate, type LimitName } from '../smtp/server/admission.js';

export type AdmissionRequest = { readonly type: 'admit'; readonly seq: number; readonly ip: string } | { readonly type: 'release'; readonly slot: number };

export interface AdmissionAnswer {
  readonly type: 'admit';
  readonly seq: number;
  /** null: admitted, the slot is `seq`. */
  readonly limit: LimitName | null;
}

const ANSWER_TIMEOUT_MS = 5000;

/** The worker's side: a ConnectionGate whose table is in the supervisor. */
export class IpcGate implements ConnectionGate {
  private seq = 0;
  private readonly pending = new Map<number, (a: Admission) => void>();

  constructor(
    private readonly send: (m: AdmissionRequest) => void,
    private readonly timeoutMs = ANSWER_TIMEOUT_MS,
  ) {}

  admit(ip: string): Promise<Admission> {
    const seq = ++this.seq;
    return new Promise<Admission>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        resolve({ ok: false, limit: 'unavailable' });
      }, this.timeoutMs);
      this.pending.set(seq, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.send({ type: 'admit', seq, ip });
    });
  }

  /** An answer from the supervisor. */
  answer(m: AdmissionAnswer): void {
    const waiting = this.pending.get(m.seq);
    if (!waiting) {
      if (m.limit === null) this.send({ type: 'release', slot: m.seq }); // granted too late
      return;
    }
    this.pending.delete(m.seq);
    waiting(m.limit === null ? { ok: true, slot: m.seq } : { ok: false, limit: m.limit });
  }

  release(slot: number): void {
    this.send({ type: 'release', slot });
  }
}

/** The supervisor's side: one table for every worker. */
export class AdmissionService {
  private readonly table: AdmissionTable;

  constructor(limits: () => AdmissionLimits) {
    this.table = new AdmissionTable(limits);
  }

  get openSessions(): number {
    return this.table.size;
  }

  /** Handles a worker's request; `answer` sends to that worker. */
  handle(workerId: number, m: AdmissionRequest, answer: (a: AdmissionAnswer) => void): void {
    if (m.type === 'admit') answer({ type: 'admit', seq: m.seq, limit: this.table.admit(`${workerId}:${m.seq}`, m.ip) });
    else this.table.release(`${workerId}:${m.slot}`);
  }

  /** A worker exited: its sessions are gone with it. */
  workerGone(workerId: number): number {
    return this.table.releaseAll(`${workerId}:`);
  }
}

export function isAdmissionRequest(m: unknown): m is AdmissionRequest {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'admit' && typeof (m as { ip?: unknown }).ip === 'string') || t === 'release';
}
