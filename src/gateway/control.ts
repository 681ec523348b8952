/**
 * Operator commands on the live queue (`moat queue …`): the CLI sends one JSON line to the
 * supervisor's unix socket (mode 0600 in dataDir), the supervisor asks every worker over IPC and
 * merges the answers. Typed requests and answers, shared by all three parties.
 */
import type { DeliveryState } from '../queue/state.js';
import type { Envelope } from '../queue/record.js';

export type ControlRequest =
  | { readonly op: 'list' }
  | { readonly op: 'show'; readonly id: string }
  | { readonly op: 'flush' }
  | { readonly op: 'retry'; readonly id: string }
  | { readonly op: 'delete'; readonly id: string }
  | { readonly op: 'quarantine-list' }
  | { readonly op: 'quarantine-show'; readonly id: string }
  | { readonly op: 'quarantine-release'; readonly id: string }
  | { readonly op: 'quarantine-delete'; readonly id: string };

/** A quarantined message as the control socket reports it. */
export interface QuarantineEntry {
  readonly envelope: Envelope;
  readonly size: number;
  /** The first octets of the content (headers), for `show`. */
  readonly head?: string;
}

export interface QueueItem {
  readonly envelope: Envelope;
  readonly state: DeliveryState | null;
  readonly size: number;
  readonly active: boolean;
  readonly shard: number;
}

export type ControlAnswer =
  | { readonly ok: true; readonly items?: readonly QueueItem[]; readonly quarantined?: readonly QuarantineEntry[]; readonly count?: number; readonly result?: string }
  | { readonly ok: false; readonly error: string };

export function isControlRequest(x: unknown): x is ControlRequest {
  if (!x || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  if (o['op'] === 'list' || o['op'] === 'flush' || o['op'] === 'quarantine-list') return true;
  const withId = ['show', 'retry', 'delete', 'quarantine-show', 'quarantine-release', 'quarantine-delete'];
  return typeof o['op'] === 'string' && withId.includes(o['op']) && typeof o['id'] === 'string' && /^[0-9A-Za-z]{1,40}$/.test(o['id']);
}

/** Merges the workers' answers: lists are concatenated, counts added, and an id-op succeeds if one worker knew it. */
export function mergeAnswers(req: ControlRequest, answers: readonly ControlAnswer[]): ControlAnswer {
  const oks = answers.filter((a): a is Extract<ControlAnswer, { ok: true }> => a.ok);
  // Every worker sees the one quarantine directory: take one listing, not the sum.
  if (req.op === 'quarantine-list') return oks[0] ?? answers[0] ?? { ok: false, error: 'no worker answered' };
  if (req.op === 'quarantine-show') return oks.find((a) => (a.quarantined?.length ?? 0) > 0) ?? { ok: false, error: `no message ${req.id} in quarantine` };
  if (req.op === 'list' || req.op === 'show') {
    const items = oks.flatMap((a) => a.items ?? []);
    if (req.op === 'show' && items.length === 0) return { ok: false, error: `no message ${req.id} in the queue` };
    return { ok: true, items };
  }
  if (req.op === 'flush') return { ok: true, count: oks.reduce((n, a) => n + (a.count ?? 0), 0) };
  const hit = oks.find((a) => a.result && a.result !== 'unknown');
  const where = req.op.startsWith('quarantine-') ? 'quarantine' : 'the queue';
  return hit ? { ok: true, result: hit.result ?? 'ok' } : { ok: false, error: `no message ${req.id} in ${where}` };
}
