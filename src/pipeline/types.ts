/**
 * The pipeline's vocabulary (CONVENTIONS.md 2-3). Checks report findings — named symbols — and never
 * decide; the policy (policy.ts) turns symbols into scores and actions. A check never sees a socket:
 * it gets typed values per SMTP phase, a context with what earlier checks established (facts), and a
 * deadline as an AbortSignal.
 */
import type { Domain, Mailbox, ReversePath } from '../smtp/address.js';
import type { MailParams } from '../smtp/params.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { MessageView } from './message.js';

export type Phase = 'connect' | 'helo' | 'mailFrom' | 'rcptTo' | 'data';

/** What a symbol makes happen regardless of the score; `accept` overrides score-based actions. */
export type HardAction = 'reject' | 'defer' | 'accept' | 'quarantine' | 'tag';

export interface SymbolDef {
  /** Upper-case, e.g. SPF_FAIL, DNSBL_ZEN. */
  readonly name: string;
  readonly description: string;
  /** Default score; config may override it. */
  readonly score: number;
  /** Default hard action; config may set or clear it unless `locked`. */
  readonly action?: HardAction;
  /** The reply for a reject/defer caused by this symbol; null or absent: the default for the phase. */
  readonly reply?: (action: 'reject' | 'defer', finding: { readonly symbol: string; readonly detail: string }, phase: Phase) => SmtpReply | null;
  /** The operator may not change it (the relay guard). */
  readonly locked?: boolean;
}

export interface Finding {
  readonly symbol: string;
  /** For logs and the explanation; never sent to the client unless a reply maker chooses to. */
  readonly detail?: string;
  /** Multiplies the symbol's score (DNSBL weights, Bayes probabilities); default 1. */
  readonly weight?: number;
  /** The check could not decide (DNS timeout, scanner down): see policy's transient rule. */
  readonly transient?: boolean;
}

/** What the engine knows about the connection (after PROXY protocol: the real client). */
export interface SessionInfo {
  readonly id: string;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly localIp: string;
  readonly localPort: number;
}

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

/**
 * Facts that checks establish for later checks and for the headers we add. Typed slots, not a bag:
 * each has one writer (named) and any number of readers.
 */
export interface SessionFacts {
  /** rdns: the client's PTR name (null: none) and whether it resolves back to the client (FCrDNS). */
  rdns?: { readonly name: string | null; readonly confirmed: boolean };
  /** dnsbl (DNSWL hit) or sender-lists (client allow list): later checks that honour it (greylist) skip their work. */
  allowlisted?: { readonly by: string; readonly detail: string };
  /** helo: the name the client gave, as given. */
  helo?: string;
  /**
   * The inbound handler (gateway/inbound.ts): this session sends mail out for the organization — a
   * client in outbound.trustedNetworks ('network'), or one that passed SMTP AUTH ('auth', with the
   * account). The relay guard lets such a session reach any domain; checks may judge it differently.
   * `addresses`: what the credential store said the account owns (the LDAP entry's mail and
   * proxyAddresses values, as read), for the sender-login check; absent when it said nothing.
   */
  outbound?: { readonly by: 'network' | 'auth'; readonly account: string | null; readonly addresses?: readonly string[] };
  /** The inbound handler: the connection came to a submission or implicit-TLS listener (clients there are submitters, not MTAs). */
  submission?: boolean;
}

export interface TransactionFacts {
  /** spf: the result for MAIL FROM (or HELO for the null sender), for DMARC and Authentication-Results. */
  spf?: { readonly result: SpfResult; readonly domain: string; readonly explanation?: string };
  /** sender-lists (MAIL FROM allow list): like the session's `allowlisted`, for this transaction only. */
  allowlisted?: { readonly by: string; readonly detail: string };
  /**
   * Method results for our Authentication-Results: header (RFC 8601), e.g. "spf=pass smtp.mailfrom=a.example",
   * formatted by pipeline/auth-results.ts. Writers: spf (at MAIL), auth (dkim, dmarc, arc at end of data).
   */
  readonly authResults: string[];
}

export interface PhaseContext {
  readonly session: SessionInfo;
  readonly facts: SessionFacts;
  readonly tx: TransactionFacts;
  /** Our own domains (for "our domain used from outside", recipient routing). */
  readonly isLocal: (domain: Domain) => boolean;
}

/** What the engine saw during a pregreet wait (Postfix postscreen's pregreet test). */
export interface EarlyTalkInfo {
  readonly talkedFirst: boolean;
  readonly octets: number;
}

export interface CheckRun {
  /** Before the greeting: how long to wait for a client that talks first (0: no wait). */
  greetWait?(ctx: PhaseContext, signal: AbortSignal): Promise<number>;
  /** After that wait: what the client did. Findings count as connect-phase findings. */
  greeted?(early: EarlyTalkInfo, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]>;
  connect?(ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]>;
  helo?(name: string, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]>;
  mailFrom?(from: ReversePath, params: MailParams, ctx: PhaseContext, signal: AbortSignal): Promise<Finding[]>;
  /** Findings here concern this recipient; a reject refuses only it. */
  rcptTo?(to: Mailbox, ctx: PhaseContext & { readonly from: ReversePath }, signal: AbortSignal): Promise<Finding[]>;
  data?(message: MessageView, ctx: PhaseContext & DataContext, signal: AbortSignal): Promise<Finding[]>;
  /** After the end-of-data verdict (auto-learning); a failure is logged, never changes the verdict. */
  decided?(verdict: VerdictSummary, message: MessageView): Promise<void>;
  /** The transaction ended (RSET, new MAIL, end of data): drop per-transaction state. */
  reset?(): void;
}

/** The end-of-data verdict as `decided` sees it (policy.ts's Explanation has these fields). */
export interface VerdictSummary {
  readonly action: HardAction;
  readonly findings: readonly { readonly symbol: string; readonly score: number; readonly transient: boolean }[];
}

export interface DataContext {
  readonly from: ReversePath;
  readonly recipients: readonly Mailbox[];
  /** The message's queue id (for scanners' logs); absent outside an SMTP session. */
  readonly queueId?: string;
  /**
   * The Received: field Moat prepends when it accepts the message (RFC 5321 §4.4), CRLF-terminated:
   * scanners that judge the relay path (SpamAssassin) are shown the message as the LAN server gets it.
   */
  readonly received?: string;
}

export interface Check {
  /** Used in config, logs and metrics; kebab-case. */
  readonly name: string;
  readonly symbols: readonly SymbolDef[];
  /** Symbols known only once the check has read its files (the rules check's operator rules): the policy asks here for names not in `symbols`. */
  readonly lookupSymbol?: (name: string) => SymbolDef | undefined;
  /** Some of its symbols are not known yet (files not read): the policy accepts overrides of names it cannot check; config validation, which reads the files, checks them. */
  readonly symbolsPending?: boolean;
  /** Reads and compiles what the check loads from files, ahead of its first use (the worker calls it after building the checks). Never rejects. */
  prepare?(): Promise<void>;
  open(session: SessionInfo): CheckRun;
}

export type LocalDomains = (domain: Domain) => boolean;
