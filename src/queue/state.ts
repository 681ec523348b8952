/**
 * Per-recipient delivery state of one queued message, and the rules that move it (DESIGN.md §5):
 * 2xx → delivered, 5xx → failed (bounce), 4xx → retry on the schedule until the lifetime ends (→
 * expired, bounce). Pure functions over a clock value, so every rule is tested without waiting.
 */
import { crc32 } from 'node:zlib';

export type RecipientStatus = 'pending' | 'delivered' | 'failed' | 'expired';

export interface RecipientState {
  readonly status: RecipientStatus;
  /** Last reply from a server, or our own reason ("4.4.1 connection refused"), one line. */
  readonly lastReply: string | null;
  /** Enhanced status for a DSN ("5.1.1"). */
  readonly dsnStatus: string | null;
  readonly remoteMta: string | null;
  readonly lastAttemptAt: number | null;
}

export interface DeliveryState {
  readonly v: 1;
  readonly recipients: readonly RecipientState[];
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly delayNotified: boolean;
}

export function initialState(recipientCount: number, now: number): DeliveryState {
  const r: RecipientState = { status: 'pending', lastReply: null, dsnStatus: null, remoteMta: null, lastAttemptAt: null };
  return { v: 1, recipients: Array.from({ length: recipientCount }, () => r), attempts: 0, nextAttemptAt: now, delayNotified: false };
}

/** What a delivery attempt said about one recipient. */
export interface RecipientOutcome {
  readonly index: number;
  readonly kind: 'delivered' | 'retry' | 'failed';
  readonly reply: string;
  readonly dsnStatus: string;
  readonly remoteMta: string | null;
  /** Delivered to a server that does not take DSN requests (RFC 3461 §6.2.3.1: we owe a "relayed" notice). */
  readonly relayedWithoutDsn?: boolean;
  /** How the session was authenticated when it matters for the logs (e.g. "DANE DANE-EE 3 1 1"). */
  readonly security?: string;
}

export interface Schedule {
  readonly retrySchedule: readonly number[];
  readonly lifetime: number;
  readonly delayWarning: number;
}

export interface AttemptResult {
  readonly state: DeliveryState;
  /** Recipients that failed or expired in this attempt (need a failure DSN). */
  readonly newlyFailed: readonly number[];
  /** Recipients delivered in this attempt. */
  readonly newlyDelivered: readonly number[];
  /** Recipients still pending that should get a delay DSN now. */
  readonly delayed: readonly number[];
  readonly done: boolean;
}

export function applyAttempt(state: DeliveryState, outcomes: readonly RecipientOutcome[], receivedAt: number, now: number, s: Schedule): AttemptResult {
  const recipients = [...state.recipients];
  const newlyFailed: number[] = [];
  const newlyDelivered: number[] = [];
  for (const o of outcomes) {
    const prev = recipients[o.index];
    if (!prev || prev.status !== 'pending') continue;
    const status: RecipientStatus = o.kind === 'delivered' ? 'delivered' : o.kind === 'failed' ? 'failed' : 'pending';
    recipients[o.index] = { status, lastReply: o.reply, dsnStatus: o.dsnStatus, remoteMta: o.remoteMta, lastAttemptAt: now };
    if (status === 'failed') newlyFailed.push(o.index);
    if (status === 'delivered') newlyDelivered.push(o.index);
  }
  const attempts = state.attempts + 1;
  const expired = now - receivedAt >= s.lifetime;
  if (expired) {
    recipients.forEach((r, i) => {
      if (r.status !== 'pending') return;
      recipients[i] = { ...r, status: 'expired', dsnStatus: r.dsnStatus ?? '4.4.7', lastReply: r.lastReply ?? 'delivery time expired', lastAttemptAt: now };
      newlyFailed.push(i);
    });
  }
  const pending = recipients.map((r, i) => (r.status === 'pending' ? i : -1)).filter((i) => i >= 0);
  const warn = !state.delayNotified && s.delayWarning > 0 && pending.length > 0 && now - receivedAt >= s.delayWarning;
  const delay = s.retrySchedule[Math.min(attempts - 1, s.retrySchedule.length - 1)] ?? 60_000;
  // Never schedule past the end of the lifetime: the last attempt happens when it expires.
  const nextAttemptAt = Math.min(now + delay, receivedAt + s.lifetime);
  return {
    state: { v: 1, recipients, attempts, nextAttemptAt, delayNotified: state.delayNotified || warn },
    newlyFailed,
    newlyDelivered,
    delayed: warn ? pending : [],
    done: pending.length === 0,
  };
}

/** State file: JSON, then a line with its CRC-32, so a torn write is recognised and ignored. */
export function encodeState(s: DeliveryState): string {
  const json = JSON.stringify(s);
  return `${json}\n${crc32(json).toString(16).padStart(8, '0')}\n`;
}

export function decodeState(text: string): DeliveryState | null {
  const m = /^(.*)\n([0-9a-f]{8})\n$/s.exec(text);
  if (!m || crc32(m[1] as string) !== parseInt(m[2] as string, 16)) return null;
  try {
    const s = JSON.parse(m[1] as string) as DeliveryState | null;
    return s && typeof s === 'object' && s.v === 1 && Array.isArray(s.recipients) ? s : null;
  } catch {
    return null;
  }
}
