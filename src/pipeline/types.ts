/**
 * The pipeline's vocabulary (CONVENTIONS.md 2-3): checks report findings (named symbols), policy turns
 * them into a verdict. A check never sees a socket; it gets typed values per SMTP phase.
 */
import type { Domain, Mailbox, ReversePath } from '../smtp/address.js';

export interface SessionInfo {
  readonly id: string;
  readonly clientIp: string;
}

export interface Finding {
  /** Upper-case symbol, e.g. RCPT_NOT_LOCAL, SPF_FAIL. */
  readonly symbol: string;
  readonly detail: string;
  /** A finding that decides on its own, whatever the score (e.g. the relay guard). */
  readonly hardAction?: 'reject' | 'defer';
}

export interface CheckRun {
  connect?(signal: AbortSignal): Promise<Finding[]>;
  helo?(name: string, signal: AbortSignal): Promise<Finding[]>;
  mailFrom?(from: ReversePath, signal: AbortSignal): Promise<Finding[]>;
  rcptTo?(to: Mailbox, signal: AbortSignal): Promise<Finding[]>;
}

export interface Check {
  readonly name: string;
  open(session: SessionInfo): CheckRun;
}

export type Verdict =
  | { readonly action: 'accept'; readonly findings: readonly Finding[] }
  | { readonly action: 'reject'; readonly findings: readonly Finding[]; readonly because: Finding }
  | { readonly action: 'defer'; readonly findings: readonly Finding[]; readonly because: Finding };

export type LocalDomains = (domain: Domain) => boolean;
