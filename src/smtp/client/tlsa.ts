/**
 * DANE certificate matching for SMTP (RFC 6698 §2.1, RFC 7671, RFC 7672 §3): does the chain a
 * server presented match one of the usable TLSA records of its host?
 * - Usable for SMTP (RFC 7672 §3.1.3): usage DANE-TA(2) and DANE-EE(3), selector Cert(0) or
 *   SPKI(1), matching Full(0), SHA2-256(1) or SHA2-512(2). PKIX-TA(0)/PKIX-EE(1) and unknown
 *   values are ignored; a set with no usable record means "no DANE" to the caller.
 * - DANE-EE(3) (§3.1.1): the leaf matches; no name check, no validity-period check.
 * - DANE-TA(2) (§3.1.2, RFC 7671 §5.2.2): a certificate the server sent (not the leaf) matches; the
 *   chain from the leaf up to it must verify issuer by issuer, each certificate below the trust
 *   anchor must be within its validity period, and the leaf must carry one of the reference names
 *   (§3.2.2: the MX host name and the TLSA base domain; RFC 6125 wildcards in the leftmost label).
 * Trusts: node's X509Certificate for DER parsing, signatures and host-name matching. Does no I/O.
 * Fails: never throws; the result says what matched or why nothing did.
 */
import { createHash, X509Certificate } from 'node:crypto';

/** One TLSA record as the DNS gave it. */
export interface TlsaAssociation {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

/** What the relay expects of one MX host's certificate. */
export interface DaneExpectation {
  /** Usable records only (usableTlsa). */
  readonly records: readonly TlsaAssociation[];
  /** Reference identifiers for DANE-TA: the MX host name, the TLSA base domain (RFC 7672 §3.2.2). */
  readonly names: readonly string[];
}

export type DaneMatch = { readonly ok: true; readonly matched: string } | { readonly ok: false; readonly problem: string };

export function isUsableTlsa(r: TlsaAssociation): boolean {
  return (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && (r.matchingType === 0 || r.matchingType === 1 || r.matchingType === 2);
}

/** RFC 7672 §3.1.3: the records an SMTP client may use. */
export function usableTlsa(records: readonly TlsaAssociation[]): TlsaAssociation[] {
  return records.filter(isUsableTlsa);
}

/** The octets a record with this selector and matching type is compared with (RFC 6698 §2.1.2-2.1.3). */
export function association(cert: X509Certificate, selector: number, matchingType: number): Buffer | null {
  const selected = selector === 0 ? cert.raw : selector === 1 ? cert.publicKey.export({ type: 'spki', format: 'der' }) : null;
  if (selected === null) return null;
  if (matchingType === 0) return selected;
  if (matchingType === 1) return createHash('sha256').update(selected).digest();
  if (matchingType === 2) return createHash('sha512').update(selected).digest();
  return null;
}

function matches(cert: X509Certificate, r: TlsaAssociation): boolean {
  const a = association(cert, r.selector, r.matchingType);
  return a !== null && a.equals(r.data);
}

export function describeTlsa(r: TlsaAssociation): string {
  return `${r.usage === 3 ? 'DANE-EE' : r.usage === 2 ? 'DANE-TA' : `usage ${r.usage}`} ${r.usage} ${r.selector} ${r.matchingType}`;
}

function within(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
}

/** Why the chain from chain[0] up to chain[top] does not hold, or null when it does. */
function pathProblem(chain: readonly X509Certificate[], top: number, now: Date): string | null {
  for (let j = 0; j < top; j++) {
    const child = chain[j] as X509Certificate;
    const issuer = chain[j + 1] as X509Certificate;
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) return `certificate ${j} is not signed by certificate ${j + 1}`;
    if (!within(child, now)) return `certificate ${j} (${child.subject.replace(/\n/g, ', ')}) is outside its validity period`;
  }
  return null;
}

/**
 * Matches a presented chain (leaf first, as the server sent it) against the expectation.
 * `now` bounds the validity periods checked for DANE-TA.
 */
export function matchDane(chain: readonly X509Certificate[], expect: DaneExpectation, now: Date): DaneMatch {
  const leaf = chain[0];
  if (leaf === undefined) return { ok: false, problem: 'the server sent no certificate' };
  const records = usableTlsa(expect.records);
  if (records.length === 0) return { ok: false, problem: 'no usable TLSA record' };
  for (const r of records) {
    if (r.usage === 3 && matches(leaf, r)) return { ok: true, matched: describeTlsa(r) };
  }
  const problems: string[] = [];
  for (const r of records) {
    if (r.usage !== 2) continue;
    for (let i = 1; i < chain.length; i++) {
      if (!matches(chain[i] as X509Certificate, r)) continue;
      const bad = pathProblem(chain, i, now);
      if (bad !== null) {
        problems.push(`${describeTlsa(r)}: ${bad}`);
        continue;
      }
      const name = expect.names.find((n) => leaf.checkHost(n, { wildcards: true, partialWildcards: false, multiLabelWildcards: false }) !== undefined);
      if (name === undefined) {
        problems.push(`${describeTlsa(r)}: the certificate is not for ${expect.names.join(' or ')}`);
        continue;
      }
      return { ok: true, matched: `${describeTlsa(r)} (${name})` };
    }
  }
  if (problems.length > 0) return { ok: false, problem: problems.join('; ') };
  return { ok: false, problem: `no TLSA record matches the certificate chain (${records.map(describeTlsa).join(', ')})` };
}

/** The chain a TLS socket's peer presented, leaf first (getPeerCertificate(true)'s issuer links). */
export function presentedChain(peer: { readonly raw?: Buffer; readonly issuerCertificate?: unknown } | null | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: { readonly raw?: Buffer; readonly issuerCertificate?: unknown } | null | undefined = peer;
  while (cur?.raw !== undefined && out.length < 16) {
    const fp = cur.raw.toString('base64');
    if (seen.has(fp)) break;
    seen.add(fp);
    try {
      out.push(new X509Certificate(cur.raw));
    } catch {
      break;
    }
    cur = cur.issuerCertificate as typeof cur;
  }
  return out;
}
