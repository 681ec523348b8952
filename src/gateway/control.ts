/**
 * Operator commands on the live queue (`moat queue …`): the CLI sends one JSON line to the
 * supervisor's unix socket (mode 0600 in dataDir), the supervisor asks every worker over IPC and
 * merges the answers. Typed requests and answers, shared by all three parties. The admin console
 * sends the same requests over the same IPC. Operations on the quarantine (one directory every
 * worker sees) go to one worker only (`oneWorker`), so that a release is made once.
 */
import type { DeliveryState } from '../queue/state.js';
import type { Envelope } from '../queue/record.js';
import type { QuarantinePreview } from '../quarantine/preview.js';

export type ControlRequest =
  | { readonly op: 'list' }
  | { readonly op: 'show'; readonly id: string }
  | { readonly op: 'flush' }
  | { readonly op: 'retry'; readonly id: string }
  | { readonly op: 'delete'; readonly id: string }
  /** Return the message to its sender with a DSN (every pending recipient fails). */
  | { readonly op: 'bounce'; readonly id: string }
  /** Queue size and oldest arrival per spool shard. */
  | { readonly op: 'queue-stats' }
  | { readonly op: 'quarantine-list' }
  | { readonly op: 'quarantine-show'; readonly id: string }
  /** Headers, text, sanitised HTML and the attachment list, parsed by the worker. */
  | { readonly op: 'quarantine-preview'; readonly id: string }
  /** With `recipient`: release to that recipient only (digest links). */
  | { readonly op: 'quarantine-release'; readonly id: string; readonly recipient?: string }
  | { readonly op: 'quarantine-delete'; readonly id: string }
  /** Send the quarantine digests now (what is new since the last ones). */
  | { readonly op: 'digest-send' }
  /** Re-read the run-time sender entries now (one was added or removed); count: entries loaded. */
  | { readonly op: 'senders-reload' };

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

export interface ShardStats {
  readonly shard: number;
  readonly size: number;
  readonly oldestReceivedAt: number | null;
}

export type ControlAnswer =
  | {
      readonly ok: true;
      readonly items?: readonly QueueItem[];
      readonly quarantined?: readonly QuarantineEntry[];
      readonly count?: number;
      readonly result?: string;
      readonly shards?: readonly ShardStats[];
      readonly preview?: QuarantinePreview;
    }
  | { readonly ok: false; readonly error: string };

const ONE_WORKER: ReadonlySet<ControlRequest['op']> = new Set(['quarantine-list', 'quarantine-show', 'quarantine-preview', 'quarantine-release', 'quarantine-delete', 'digest-send']);

/** Operations on what every worker shares (the quarantine directory): asked of one worker. */
export function oneWorker(req: ControlRequest): boolean {
  return ONE_WORKER.has(req.op);
}

export function isControlRequest(x: unknown): x is ControlRequest {
  if (!x || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  if (['list', 'flush', 'quarantine-list', 'queue-stats', 'digest-send', 'senders-reload'].includes(o['op'] as string)) return true;
  const withId = ['show', 'retry', 'delete', 'bounce', 'quarantine-show', 'quarantine-preview', 'quarantine-release', 'quarantine-delete'];
  if (o['recipient'] !== undefined && (o['op'] !== 'quarantine-release' || typeof o['recipient'] !== 'string' || !/^[^\s<>]{3,320}$/.test(o['recipient']))) return false;
  return typeof o['op'] === 'string' && withId.includes(o['op']) && typeof o['id'] === 'string' && /^[0-9A-Za-z]{1,40}$/.test(o['id']);
}

/** Merges the workers' answers: lists are concatenated, counts added, and an id-op succeeds if one worker knew it. */
export function mergeAnswers(req: ControlRequest, answers: readonly ControlAnswer[]): ControlAnswer {
  const oks = answers.filter((a): a is Extract<ControlAnswer, { ok: true }> => a.ok);
  // Every worker sees the one quarantine directory: take one listing, not the sum.
  if (req.op === 'quarantine-list') return oks[0] ?? answers[0] ?? { ok: false, error: 'no worker answered' };
  if (req.op === 'quarantine-show') return oks.find((a) => (a.quarantined?.length ?? 0) > 0) ?? { ok: false, error: `no message ${req.id} in quarantine` };
  if (req.op === 'quarantine-preview') return oks.find((a) => a.preview) ?? answers.find((a) => !a.ok) ?? { ok: false, error: `no message ${req.id} in quarantine` };
  // The shards are disjoint; the quarantine count is the one directory's, seen by each worker.
  if (req.op === 'queue-stats') return { ok: true, shards: oks.flatMap((a) => a.shards ?? []).sort((a, b) => a.shard - b.shard), count: Math.max(0, ...oks.map((a) => a.count ?? 0)) };
  if (req.op === 'list' || req.op === 'show') {
    const items = oks.flatMap((a) => a.items ?? []);
    if (req.op === 'show' && items.length === 0) return { ok: false, error: `no message ${req.id} in the queue` };
    return { ok: true, items };
  }
  // Every worker re-read the same store: all must have, and they loaded the same entries.
  if (req.op === 'senders-reload') return answers.find((a) => !a.ok) ?? answers[0] ?? { ok: false, error: 'no worker answered' };
  if (req.op === 'flush' || req.op === 'digest-send') {
    if (oks.length === 0) return answers[0] ?? { ok: false, error: 'no worker answered' };
    return { ok: true, count: oks.reduce((n, a) => n + (a.count ?? 0), 0) };
  }
  const hit = oks.find((a) => a.result && a.result !== 'unknown');
  const where = req.op.startsWith('quarantine-') ? 'quarantine' : 'the queue';
  return hit ? { ok: true, result: hit.result ?? 'ok' } : { ok: false, error: `no message ${req.id} in ${where}` };
}
