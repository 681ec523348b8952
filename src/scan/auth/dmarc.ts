/**
 * DMARC (RFC 7489) for one RFC5322.From domain, given the record mailauth found and the SPF, DKIM
 * and ARC results: identifier alignment (§3.1), the policy to apply (§6.3: sp= for subdomains when
 * the record is the organizational domain's; mailauth picks it), sampling (§6.6.4: with pct < 100 a
 * message outside the sample gets the next lower policy), and local overrides (§6.7): From domains
 * the operator exempts, and a valid ARC chain sealed by a trusted sealer (RFC 8617 §7.2). Overrides
 * are written into the finding's detail and the Authentication-Results comment.
 *
 * Alignment is computed here, not taken from mailauth 4.13: its getAlignment treats adkim=s/aspf=s
 * like relaxed (the option object it gets is always truthy, and the relaxed match runs after the
 * strict one), so strict records would pass subdomain signatures. Relaxed alignment compares
 * organizational domains from the Public Suffix List (tldts, the copy mailauth uses).
 *
 * Fail safe: a DMARC record lookup that failed, or a failure that an aligned DKIM signature or SPF
 * result lost to a DNS error could have turned into a pass (or a trusted sealer's ARC chain we
 * could not verify for the same reason), is DMARC_TEMPERROR: transient, never a reject or
 * quarantine. Only aligned identifiers count, so a sender cannot make a forged From transient by
 * adding signatures of its own slow domains.
 * Trusts: its inputs. Fails: never; pure apart from `random` (the pct sample).
 */
import { getDomain } from 'tldts';
import { methodResult } from '../../pipeline/auth-results.js';
import type { Finding, SpfResult } from '../../pipeline/types.js';
import type { DkimSignature } from './dkim.js';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export type DmarcRecord =
  | { readonly kind: 'record'; readonly policy: string; readonly pct: number | undefined; readonly strictDkim: boolean; readonly strictSpf: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'temperror'; readonly error: string };

export interface ArcOutcome {
  readonly result: 'pass' | 'fail' | 'none' | 'temperror';
  /** Instance of the newest ARC set (0: no chain). */
  readonly i: number;
  /** d= of the newest ARC-Seal, lower-case ('' without a chain). */
  readonly sealer: string;
  readonly reason: string;
}

export interface DmarcInputs {
  /** The RFC5322.From domain, lower-case A-labels. */
  readonly fromDomain: string;
  readonly record: DmarcRecord;
  readonly spf: { readonly result: SpfResult; readonly domain: string } | undefined;
  readonly dkim: readonly DkimSignature[];
  readonly arc: ArcOutcome;
  readonly overrideDomains: readonly string[];
  readonly trustedSealers: readonly string[];
  /** [0, 1), for the pct sample. */
  readonly random: () => number;
}

export interface DmarcOutcome {
  readonly finding: Finding;
  readonly authResult: string;
  /** For several From domains: the outcome with the highest rank is reported. */
  readonly rank: number;
}

const TLDTS = { allowIcannDomains: true, allowPrivateDomains: true } as const;

export function orgDomain(d: string): string {
  return getDomain(d, TLDTS) ?? d;
}

/** RFC 7489 §3.1.1 (DKIM) and §3.1.2 (SPF). */
export function aligned(identifier: string, from: string, strict: boolean): boolean {
  const a = identifier.toLowerCase();
  return strict ? a === from : orgDomain(a) === orgDomain(from);
}

/** `domain` is one of `list` or a subdomain of one. */
export function inDomainList(domain: string, list: readonly string[]): boolean {
  return list.some((d) => domain === d || domain.endsWith(`.${d}`));
}

function asPolicy(p: string): DmarcPolicy {
  const v = p.toLowerCase();
  // RFC 7489 §6.6.3: an unknown p= value is treated as "none".
  return v === 'reject' || v === 'quarantine' ? v : 'none';
}

const LOWER: Readonly<Record<DmarcPolicy, DmarcPolicy>> = { reject: 'quarantine', quarantine: 'none', none: 'none' };
const FAIL_SYMBOL: Readonly<Record<DmarcPolicy, string>> = { reject: 'DMARC_FAIL_REJECT', quarantine: 'DMARC_FAIL_QUARANTINE', none: 'DMARC_FAIL_NONE' };
const RANK: Readonly<Record<string, number>> = { DMARC_FAIL_REJECT: 6, DMARC_FAIL_QUARANTINE: 5, DMARC_TEMPERROR: 4, DMARC_FAIL_NONE: 3, DMARC_NONE: 2, DMARC_PASS: 1 };

export function evaluateDmarc(x: DmarcInputs): DmarcOutcome {
  const from = x.fromDomain;
  const out = (symbol: string, detail: string, result: string, note: string, transient = false): DmarcOutcome => ({
    finding: { symbol, detail: `${from}: ${detail}`, ...(transient ? { transient: true } : {}) },
    authResult: methodResult('dmarc', result, [['header.from', from]], note),
    rank: RANK[symbol] ?? 0,
  });
  const r = x.record;
  if (r.kind === 'temperror') return out('DMARC_TEMPERROR', `DMARC record lookup failed (${r.error})`, 'temperror', '', true);
  if (r.kind === 'none') return out('DMARC_NONE', 'no DMARC record', 'none', '');

  const published = asPolicy(r.policy);
  const note = `p=${published}`;
  const dkimOk = x.dkim.filter((s) => s.result === 'pass' && aligned(s.domain, from, r.strictDkim));
  const spfOk = x.spf?.result === 'pass' && aligned(x.spf.domain, from, r.strictSpf);
  if (dkimOk.length > 0 || spfOk) {
    const by = [...dkimOk.map((s) => `dkim d=${s.domain}`), ...(spfOk && x.spf ? [`spf ${x.spf.domain}`] : [])];
    return out('DMARC_PASS', `aligned ${by.join(', ')}`, 'pass', note);
  }

  const tried = [
    `dkim ${x.dkim.some((s) => s.result === 'pass') ? 'passed unaligned' : 'no pass'}${r.strictDkim ? ' (adkim=s)' : ''}`,
    `spf ${x.spf ? `${x.spf.result} for ${x.spf.domain}` : 'not checked'}${r.strictSpf ? ' (aspf=s)' : ''}`,
  ].join(', ');
  const lost =
    x.dkim.some((s) => s.result === 'temperror' && aligned(s.domain, from, r.strictDkim)) || (x.spf?.result === 'temperror' && aligned(x.spf.domain, from, r.strictSpf));
  if (lost && published !== 'none') return out('DMARC_TEMPERROR', `fails ${note}, but an aligned check could not be done (DNS): ${tried}`, 'temperror', note, true);

  let policy = published;
  const notes: string[] = [];
  const pct = r.pct === undefined ? 100 : Math.min(100, Math.max(0, r.pct));
  if (policy !== 'none' && pct < 100 && x.random() * 100 >= pct) {
    policy = LOWER[policy];
    notes.push(`pct=${pct}: not sampled, ${policy} applied (RFC 7489 §6.6.4)`);
  }
  if (policy !== 'none') {
    if (inDomainList(from, x.overrideDomains)) {
      notes.push(`local override: From domain listed in checks.auth.dmarc.overrideDomains (RFC 7489 §6.7 local_policy), ${policy} not applied`);
      policy = 'none';
    } else if (x.arc.sealer !== '' && inDomainList(x.arc.sealer, x.trustedSealers)) {
      if (x.arc.result === 'temperror') return out('DMARC_TEMPERROR', `fails ${note}; the trusted ARC sealer's chain could not be verified (DNS)`, 'temperror', note, true);
      if (x.arc.result === 'pass') {
        notes.push(`local override: valid ARC chain sealed by trusted ${x.arc.sealer} (i=${x.arc.i}, RFC 8617 §7.2 trusted_forwarder), ${policy} not applied`);
        policy = 'none';
      }
    }
  }
  const overridden = notes.length > 0 ? `; ${notes.map((n) => n.split(':')[0]).join('; ')}` : '';
  return out(FAIL_SYMBOL[policy], `fails ${note}: ${tried}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`, 'fail', `${note}${overridden}`);
}
