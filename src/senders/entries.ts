/**
 * Run-time sender lists: allow and block entries that admins add from the console (a quarantined
 * message's sender, the "Sender lists" page) or with `moat senders allow|block|remove`, kept in a
 * store beside the console's users (SQLite store.db by default, PostgreSQL with `store:
 * postgres://`), each with who added it, when, and why. The sender-lists check consults them
 * together with the config lists (src/checks/sender-lists): a block refuses at MAIL with 550
 * 5.7.1, an allow accepts whatever the score, and a block wins over an allow as in the config.
 * An entry is an address ("user@example.com", local part without case) or a domain ("example.com",
 * ".example.com" for its subdomains); one value is on one list at a time (blocking an allowed
 * address moves it).
 * This file is the port and the pure parts (value parsing, the compiled lists); adapters are
 * sqlite.ts and postgres.ts, the worker's live copy is live.ts.
 * Trusts its callers to pass values through parseSenderValue. A failing store rejects with
 * SenderStoreError.
 */
import { parseDomain, parseMailbox, type Mailbox } from '../smtp/address.js';

export const SENDER_LIST_NAMES = ['allow', 'block'] as const;
export type SenderListName = (typeof SENDER_LIST_NAMES)[number];

export interface SenderEntry {
  readonly id: number;
  readonly list: SenderListName;
  /** Canonical: "local@a-label.domain" (local part lower-cased), "domain" or ".domain". */
  readonly value: string;
  /** Console user name, or "cli:USER" for `moat senders`. */
  readonly addedBy: string;
  /** Unix ms. */
  readonly addedAt: number;
  /** Why (free text, at most 200 characters; "from quarantine ID" when added there). */
  readonly note: string;
}

export type NewSenderEntry = Omit<SenderEntry, 'id'>;

export interface SenderEntryStore {
  /** Every entry, newest first. */
  list(): Promise<SenderEntry[]>;
  /** Adds the entry, or moves/updates the one with that value; the stored entry. */
  put(e: NewSenderEntry): Promise<SenderEntry>;
  /** Removes an entry by id; the removed entry, or null when there was none. */
  remove(id: number): Promise<SenderEntry | null>;
  close(): Promise<void>;
}

export class SenderStoreError extends Error {
  readonly code = 'SENDER_STORE_ERROR';
  readonly transient = true;
}

/** At most this many entries are loaded into the check (a list is for exceptions, not a feed). */
export const MAX_SENDER_ENTRIES = 10_000;
export const MAX_NOTE = 200;

/** The canonical form of an entry value, or why it is not one. */
export function parseSenderValue(raw: string): { ok: true; value: string; kind: 'address' | 'domain' } | { ok: false; error: string } {
  const s = raw.trim();
  if (s.length === 0 || s.length > 320) return { ok: false, error: 'expected an address ("user@example.com") or a domain ("example.com", ".example.com")' };
  if (s.includes('@')) {
    const m = parseMailbox(s.replace(/^<(.*)>$/, '$1'));
    if (!m.ok) return { ok: false, error: `not an address: ${s.slice(0, 80)}` };
    return { ok: true, value: addressKey(m.value), kind: 'address' };
  }
  const sub = s.startsWith('.');
  const d = parseDomain(sub ? s.slice(1) : s);
  if (!d || d.startsWith('[')) return { ok: false, error: `not a domain: ${s.slice(0, 80)}` };
  return { ok: true, value: sub ? `.${d}` : d, kind: 'domain' };
}

/** The comparison form of an address: local part without case, canonical domain. */
export function addressKey(m: Mailbox): string {
  return `${m.local.toLowerCase()}@${m.domain}`;
}

export function isSenderListName(s: unknown): s is SenderListName {
  return typeof s === 'string' && (SENDER_LIST_NAMES as readonly string[]).includes(s);
}

/** One run-time list compiled for matching. */
class CompiledList {
  private readonly byValue = new Map<string, SenderEntry>();
  private readonly parents: SenderEntry[] = [];

  add(e: SenderEntry): void {
    if (e.value.startsWith('.')) this.parents.push(e);
    else this.byValue.set(e.value, e);
  }

  /** The entry that matches the sender (its address, its domain, a parent domain), or null. */
  match(from: Mailbox): SenderEntry | null {
    return this.byValue.get(addressKey(from)) ?? this.byValue.get(from.domain) ?? this.parents.find((p) => from.domain.endsWith(p.value)) ?? null;
  }
}

/** The run-time entries as the check sees them: a snapshot, replaced whole on every refresh. */
export class RuntimeSenderLists {
  private readonly lists: Record<SenderListName, CompiledList> = { allow: new CompiledList(), block: new CompiledList() };

  constructor(readonly entries: readonly SenderEntry[]) {
    for (const e of entries) this.lists[e.list].add(e);
  }

  match(list: SenderListName, from: Mailbox): SenderEntry | null {
    return this.lists[list].match(from);
  }

  static readonly EMPTY = new RuntimeSenderLists([]);
}
