/**
 * DKIM (RFC 6376) results as Moat reports them: mailauth's verifier output mapped to RFC 8601 result
 * values, one method result per signature (`dkim=pass header.d=example.org header.s=sel1`), and the
 * symbols DKIM_VALID / DKIM_INVALID / DKIM_NONE / DKIM_TEMPERROR, each once, listing the d= values.
 * Mapping (RFC 6376 §6.1, RFC 8601 §2.7.1): a body hash mismatch is "fail" (mailauth says neutral),
 * a missing or unusable key record "permerror", a key shorter than `minKeyBits` "policy", a DNS
 * failure "temperror" — except a signature whose d=/s= is not a valid DNS name (BADNAME), which is a
 * property of the signature, not of the network: "permerror", so no sender can make it transient.
 * Trusts: mailauth's cryptographic verdicts. Fails: never; it only maps values.
 */
import type { DKIMResult } from 'mailauth';
import { methodResult } from '../../pipeline/auth-results.js';
import type { Finding } from '../../pipeline/types.js';

export type DkimResult = 'pass' | 'fail' | 'policy' | 'permerror' | 'temperror' | 'none';

export interface DkimSignature {
  readonly result: DkimResult;
  /** Signing domain (d=), lower-case; '' for "not signed". */
  readonly domain: string;
  readonly selector: string;
  /** First characters of b= (RFC 6008 header.b), to tell signatures of one domain apart. */
  readonly b: string;
  /** Why it did not pass, as mailauth put it. */
  readonly reason: string;
}

export function dkimSignatures(results: readonly DKIMResult[]): DkimSignature[] {
  return results.map((r) => {
    const comment = r.status.comment ?? '';
    const raw = r.status.result;
    let result: DkimResult;
    if (raw === 'pass' || raw === 'fail' || raw === 'policy' || raw === 'none' || raw === 'permerror') result = raw;
    else if (raw === 'temperror' || raw === 'temperr') result = /EBADNAME/.test(comment) ? 'permerror' : 'temperror';
    else if (raw === 'neutral') result = /body hash/.test(comment) ? 'fail' : 'permerror';
    else result = 'permerror';
    const b = typeof r.status.header?.['b'] === 'string' ? r.status.header['b'] : '';
    const reason = result === 'policy' && comment === '' ? 'key too short' : comment;
    return { result, domain: (r.signingDomain ?? '').toLowerCase(), selector: r.selector ?? '', b, reason: result === 'pass' ? '' : reason };
  });
}

/** The RFC 8601 method results, in signature order; header.b only when needed to tell them apart. */
export function dkimAuthResults(sigs: readonly DkimSignature[]): string[] {
  if (sigs.length === 0 || sigs.every((s) => s.result === 'none')) return [methodResult('dkim', 'none', [])];
  const withB = sigs.length > 1;
  return sigs.map((s) => methodResult('dkim', s.result, [['header.d', s.domain], ['header.s', s.selector], ...(withB ? [['header.b', s.b] as const] : [])], s.reason));
}

const describe = (s: DkimSignature): string => `d=${s.domain} s=${s.selector}${s.reason ? ` (${s.reason})` : ''}`;

export function dkimFindings(sigs: readonly DkimSignature[]): Finding[] {
  const pass = sigs.filter((s) => s.result === 'pass');
  const bad = sigs.filter((s) => s.result === 'fail' || s.result === 'permerror' || s.result === 'policy');
  const temp = sigs.filter((s) => s.result === 'temperror');
  const out: Finding[] = [];
  if (pass.length > 0) out.push({ symbol: 'DKIM_VALID', detail: pass.map(describe).join(', ') });
  if (bad.length > 0) out.push({ symbol: 'DKIM_INVALID', detail: bad.map(describe).join(', ') });
  // A signature we could not check matters only while nothing else passed.
  if (temp.length > 0 && pass.length === 0) out.push({ symbol: 'DKIM_TEMPERROR', detail: temp.map(describe).join(', '), transient: true });
  if (out.length === 0) out.push({ symbol: 'DKIM_NONE', detail: 'no DKIM-Signature field (or none with a supported algorithm)' });
  return out;
}
