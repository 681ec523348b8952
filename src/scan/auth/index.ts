/**
 * Sender authentication at end of data: DKIM (RFC 6376) for every signature, ARC (RFC 8617) and
 * DMARC (RFC 7489) for the RFC5322.From domain(s), over the message exactly as received (the raw
 * octets, or the spool stream when the message is longer than the scan limit). mailauth 4.x does
 * the cryptography and the record parsing, through our resolver (nodeStyleResolve, never the
 * system's). We do not call mailauth's authenticate(): it always evaluates SPF again and has no way
 * to take a result, so we run its parts (dkimVerify, arc, dmarc) and give DMARC the SPF result the
 * spf check already wrote (the `spf` fact). Alignment, pct and overrides are dmarc.ts.
 *
 * Reports DKIM_*, DMARC_* and ARC_* symbols and the RFC 8601 method results in a stable order
 * (dkim per signature, dmarc per From domain, arc) after spf's. A From: holding addresses of several
 * domains is checked for each (RFC 7489 §6.6.1), at most MAX_FROM_DOMAINS, and the strictest
 * outcome is reported, so a second address cannot hide a p=reject domain.
 *
 * Defaults: DMARC_FAIL_REJECT rejects with 550 5.7.1 (§6.6.4 suggests it), DMARC_FAIL_QUARANTINE
 * quarantines, the rest are scores. Trusts: mailauth's cryptographic verdicts and record parsing,
 * the `spf` fact; nothing in the message (From: domains are validated before they become queries
 * or reply text). Fails safe: every DNS failure (DKIM key, DMARC record, ARC key)
 * is a transient *_TEMPERROR finding with score 0, never a reject or quarantine (see dmarc.ts for
 * when a failure could have been a pass). mailauth rejecting (it maps errors to results, so only
 * a broken stream would) becomes AUTH_TEMPFAIL: defer.
 */
import { Readable } from 'node:stream';
import type { ARCData, ARCResult, DMARCResult, DNSResolver } from 'mailauth';
import { mailauth } from './mailauth.js';
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import { methodResult } from '../../pipeline/auth-results.js';
import { nodeStyleResolve } from '../../platform/dns/node-style.js';
import type { Resolver } from '../../platform/dns/types.js';
import type { Clock } from '../../platform/clock.js';
import { parseDomain } from '../../smtp/address.js';
import { dmarcRejected } from '../../smtp/reply.js';
import { dkimAuthResults, dkimFindings, dkimSignatures, type DkimSignature } from './dkim.js';
import { evaluateDmarc, type ArcOutcome, type DmarcOutcome, type DmarcRecord } from './dmarc.js';
import type { AuthConfig } from './config.js';
export { authSchema, type AuthConfig } from './config.js';

const MAX_FROM_DOMAINS = 5;

export interface AuthPorts {
  readonly resolver: Resolver;
  readonly clock: Clock;
}

export const AUTH_SYMBOLS: readonly SymbolDef[] = [
  { name: 'DKIM_VALID', description: 'A DKIM signature verifies (detail: each d= and s=)', score: -0.1 },
  { name: 'DKIM_INVALID', description: 'A DKIM signature does not verify: bad signature, changed body, missing or weak key', score: 0.1 },
  { name: 'DKIM_NONE', description: 'The message carries no DKIM signature', score: 0 },
  { name: 'DKIM_TEMPERROR', description: 'A DKIM key could not be fetched (DNS failure) and no signature passed; transient', score: 0 },
  { name: 'DMARC_PASS', description: 'DMARC pass: an aligned DKIM signature or SPF pass for the From: domain', score: -0.2 },
  {
    name: 'DMARC_FAIL_REJECT',
    description: 'DMARC fail and the From: domain asks to reject (p=reject, after sp= and pct=): 550 5.7.1',
    score: 5,
    action: 'reject',
    reply: (action, f) => {
      if (action !== 'reject') return null;
      const d = parseDomain(/^([^\s:]+):/.exec(f.detail)?.[1] ?? '');
      return dmarcRejected(d !== null && !d.startsWith('[') ? d : undefined);
    },
  },
  { name: 'DMARC_FAIL_QUARANTINE', description: 'DMARC fail and the From: domain asks to quarantine (p=quarantine, after sp= and pct=)', score: 3, action: 'quarantine' },
  { name: 'DMARC_FAIL_NONE', description: 'DMARC fail under p=none, a pct= sample or a local override (detail says which)', score: 1 },
  { name: 'DMARC_NONE', description: 'No DMARC record for the From: domain, or no usable From: address', score: 0 },
  { name: 'DMARC_TEMPERROR', description: 'DMARC could not be decided (DNS failure); transient, never rejects or quarantines', score: 0 },
  { name: 'ARC_PASS', description: 'The ARC chain validates (RFC 8617)', score: 0 },
  { name: 'ARC_FAIL', description: 'The ARC chain is broken or a seal does not verify', score: 0.2 },
  { name: 'ARC_NONE', description: 'No ARC chain', score: 0 },
  { name: 'ARC_TEMPERROR', description: 'An ARC key could not be fetched (DNS failure); transient', score: 0 },
];

/** A resolver for mailauth that notes whether any lookup failed for a reason other than "no such record". */
function recording(base: DNSResolver): { resolve: DNSResolver; failed: () => boolean } {
  let failed = false;
  return {
    resolve: async (name, rr) => {
      try {
        return await base(name, rr);
      } catch (e: unknown) {
        const code = (e as { code?: unknown }).code;
        if (code !== 'ENOTFOUND' && code !== 'ENODATA' && code !== 'EBADNAME') failed = true;
        throw e;
      }
    },
    failed: () => failed,
  };
}

function arcOutcome(data: ARCData, r: ARCResult, dnsFailed: boolean): ArcOutcome {
  const last = Array.isArray(data.chain) ? data.chain[data.chain.length - 1] : undefined;
  const d = last?.['arc-seal']?.parsed?.d?.value;
  const sealer = typeof d === 'string' ? d.toLowerCase() : '';
  const i = typeof r.i === 'number' ? r.i : (last?.i ?? 0);
  const result = r.status.result === 'pass' ? 'pass' : r.status.result === 'none' ? 'none' : dnsFailed ? 'temperror' : 'fail';
  return { result, i, sealer, reason: result === 'temperror' ? 'DNS failure' : (r.status.comment ?? '') };
}

function dmarcRecord(r: DMARCResult | false): DmarcRecord {
  if (r === false || r.status.result === 'none') return { kind: 'none' };
  if (r.status.result === 'temperror') return { kind: 'temperror', error: r.error ?? 'DNS failure' };
  return { kind: 'record', policy: r.policy ?? 'none', pct: r.pct, strictDkim: r.alignment?.dkim?.strict === true, strictSpf: r.alignment?.spf?.strict === true };
}

/** Distinct From: domains (valid names only, lower-case A-labels) and whether any address was not usable. */
function fromDomains(addresses: readonly string[]): { domains: string[]; unusable: boolean } {
  const domains: string[] = [];
  let unusable = false;
  for (const a of addresses) {
    const d = parseDomain(a.slice(a.lastIndexOf('@') + 1));
    if (!a.includes('@') || d === null || d.startsWith('[') || !d.includes('.')) unusable = true;
    else if (!domains.includes(d)) domains.push(d);
  }
  return { domains, unusable };
}

export function authCheck(config: AuthConfig, ports: AuthPorts, random: () => number = Math.random): Check {
  return {
    name: 'auth',
    symbols: AUTH_SYMBOLS,
    open: () => ({
      data: async (view, ctx, signal): Promise<Finding[]> => {
        const base = nodeStyleResolve(ports.resolver, signal) as DNSResolver;
        const minBitLength = config.dkim.minKeyBits;
        const input = view.truncated ? Readable.from(view.stream()) : view.raw;
        const { arc, dkimVerify, dmarc } = await mailauth();
        const dkim = await dkimVerify(input, { resolver: base, minBitLength, curTime: new Date(ports.clock.now()) });
        const sigs: DkimSignature[] = dkimSignatures(dkim.results);

        const arcData = (dkim.arc ?? { chain: false }) as unknown as ARCData;
        const arcDns = recording(base);
        const arcRaw = await arc(arcData, { resolver: arcDns.resolve, minBitLength });
        const arcRes = arcOutcome(arcData, arcRaw, arcDns.failed());

        const { domains, unusable } = fromDomains(dkim.headerFrom);
        const spf = ctx.tx.spf;
        const outcomes: DmarcOutcome[] = [];
        for (const fromDomain of domains.slice(0, MAX_FROM_DOMAINS)) {
          // Only the record is taken from mailauth (policy after sp=, pct, adkim/aspf); alignment is dmarc.ts's.
          const record = await dmarc({ headerFrom: `postmaster@${fromDomain}`, spfDomains: [], dkimDomains: [], resolver: base });
          outcomes.push(
            evaluateDmarc({
              fromDomain,
              record: dmarcRecord(record),
              spf,
              dkim: sigs,
              arc: arcRes,
              overrideDomains: config.dmarc.overrideDomains.map((d) => d.toLowerCase()),
              trustedSealers: config.arc.trustedSealers.map((d) => d.toLowerCase()),
              random,
            }),
          );
        }

        ctx.tx.authResults.push(...dkimAuthResults(sigs));
        const findings = dkimFindings(sigs);
        if (outcomes.length === 0) {
          ctx.tx.authResults.push(methodResult('dmarc', 'permerror', [], 'no usable From: address'));
          findings.push({ symbol: 'DMARC_NONE', detail: unusable ? 'From: holds no usable address' : 'no From: address' });
        } else {
          ctx.tx.authResults.push(...outcomes.map((o) => o.authResult));
          const worst = outcomes.reduce((a, b) => (b.rank > a.rank ? b : a));
          const others = outcomes.filter((o) => o !== worst).map((o) => `${o.finding.symbol} ${o.finding.detail ?? ''}`);
          findings.push(others.length > 0 ? { ...worst.finding, detail: `${worst.finding.detail ?? ''}; also ${others.join('; ')}` } : worst.finding);
        }
        ctx.tx.authResults.push(methodResult('arc', arcRes.result, [], arcRes.result === 'pass' ? '' : arcRes.reason));
        const arcSymbol = { pass: 'ARC_PASS', fail: 'ARC_FAIL', none: 'ARC_NONE', temperror: 'ARC_TEMPERROR' }[arcRes.result];
        const arcDetail = arcRes.i > 0 ? `i=${arcRes.i} sealed by ${arcRes.sealer || '?'}${arcRes.reason ? `: ${arcRes.reason}` : ''}` : 'no ARC headers';
        findings.push({ symbol: arcSymbol, detail: arcDetail, ...(arcRes.result === 'temperror' ? { transient: true } : {}) });
        return findings;
      },
    }),
  };
}
