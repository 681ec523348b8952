/**
 * The public face of Moat's one DNS resolver: record types, typed answers and the Resolver port.
 * Every DNS check (DNSBL, DNSWL, rDNS/FCrDNS, HELO, SPF, MX, URI blocklists, DKIM/DMARC) codes
 * against these names. Nothing here does I/O.
 * Trusts: nothing. Fails: never; `lookup` returns `kind: 'error'` instead of throwing.
 */

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'NS' | 'CNAME' | 'SOA' | 'TLSA';

export const RECORD_TYPES: readonly RecordType[] = ['A', 'AAAA', 'MX', 'TXT', 'PTR', 'NS', 'CNAME', 'SOA', 'TLSA'];

export interface MxRecord {
  /** Lower-case, no trailing dot; '' for the root (a null MX, RFC 7505). */
  readonly exchange: string;
  readonly priority: number;
}

export interface SoaRecord {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

/** RFC 6698 §2.1: certificate usage, selector, matching type and the certificate association data. */
export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

/** What one record of each type becomes. */
export interface RecordMap {
  readonly A: string;
  readonly AAAA: string;
  readonly MX: MxRecord;
  /** One TXT record's character-strings, each UTF-8 decoded, not joined (RFC 7208 §3.3 joins them). */
  readonly TXT: string[];
  readonly PTR: string;
  readonly NS: string;
  readonly CNAME: string;
  readonly SOA: SoaRecord;
  readonly TLSA: TlsaRecord;
}

export type RecordOf<T extends RecordType> = RecordMap[T];

/**
 * Why a lookup gave no answer. TIMEOUT: no (valid) reply within timeout × tries on every server;
 * NETWORK: the socket failed (e.g. ICMP port unreachable); BADNAME: not a valid DNS name, nothing
 * was sent; BADRESPONSE: a reply that cannot be parsed or makes no sense; ABORTED: the caller's
 * AbortSignal fired before the answer came (the query itself goes on for other callers and the
 * cache). The rest are the server's RCODEs (RFC 1035 §4.1.1). All of them are transient for a
 * caller: a DNS failure can only defer or skip a check, never reject mail.
 */
export type DnsErrorCode = 'TIMEOUT' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP' | 'NETWORK' | 'BADNAME' | 'BADRESPONSE' | 'ABORTED';

/**
 * `secure: true` (absent otherwise): the resolver set AD (RFC 4035 §3.2.3, RFC 6840 §5.7) and the
 * operator said our servers validate DNSSEC and are reached over a secure path (dns.dnssec:
 * trusted). We never validate ourselves; without that setting no answer is ever secure.
 */
export type DnsAnswer<R> =
  /** ttl: seconds left before the answer expires (min over the RRset and the CNAME chain, clamped). */
  | { readonly kind: 'ok'; readonly records: R[]; readonly ttl: number; readonly secure?: true }
  /** NXDOMAIN or NODATA (RFC 2308 §1); ttl: seconds left of the negative caching time. */
  | { readonly kind: 'none'; readonly reason: 'nxdomain' | 'nodata'; readonly ttl: number; readonly secure?: true }
  | { readonly kind: 'error'; readonly code: DnsErrorCode };

export interface ResolverStats {
  /** DNS messages sent (each UDP try and each TCP retry counts). */
  readonly queries: number;
  /** Lookups answered from the cache, no message sent. */
  readonly cacheHits: number;
  /** Tries that got no reply in time. */
  readonly timeouts: number;
  /** Lookups that waited for an identical query already in flight instead of sending their own. */
  readonly inflightJoins: number;
  /** Datagrams dropped because id, question or flags did not match the query (stray or spoofed). */
  readonly dropped: number;
}

export interface Resolver {
  /**
   * Records of `type` at `name` (following a CNAME chain inside the answer). `name` must be
   * IDNA-ASCII (A-labels); a trailing dot is allowed. Never throws. The records arrays are shared
   * with the cache and frozen: copy before sorting.
   */
  lookup<T extends RecordType>(name: string, type: T, signal?: AbortSignal): Promise<DnsAnswer<RecordOf<T>>>;
  mx(domain: string): Promise<DnsAnswer<MxRecord>>;
  /** A and AAAA together (A first); an error only if neither gave records and one failed. */
  addresses(host: string): Promise<DnsAnswer<string>>;
  /** PTR of an IP (in-addr.arpa, or ip6.arpa nibbles); IPv4-mapped IPv6 is looked up as IPv4. */
  reverse(ip: string, signal?: AbortSignal): Promise<DnsAnswer<string>>;
  stats(): ResolverStats;
}
