/**
 * Our resolver behind the contract of node's `dns.promises.resolve(name, rrtype)`, for libraries
 * that take such a function (mailauth 4.x: `resolver: async (name, rrtype) => ...` for SPF, DKIM,
 * DMARC, ARC, BIMI). Shapes as node gives them: A/AAAA/PTR/NS/CNAME string[], MX
 * {exchange, priority}[], TXT string[][] (chunks not joined), SOA one object {nsname, hostmaster,
 * serial, refresh, retry, expire, minttl}. Failures reject with node's error codes: ENOTFOUND
 * (NXDOMAIN), ENODATA (NODATA), ETIMEOUT, ESERVFAIL, EREFUSED, EFORMERR, ENOTIMP, ECONNREFUSED
 * (socket error), EBADNAME, EBADRESP, ECANCELLED (the signal fired); an unknown rrtype rejects with
 * ERR_INVALID_ARG_VALUE.
 * Trusts: the Resolver. Fails: by rejecting, as node does; never with anything but those codes.
 */
import type { DnsErrorCode, RecordType, Resolver, SoaRecord } from './types.js';
import { RECORD_TYPES } from './types.js';

export type NodeStyleResolve = (name: string, rrtype?: string) => Promise<unknown>;

/** An Error as node's resolver throws it: code, syscall ("queryTxt") and hostname. */
export class NodeDnsError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly hostname: string;
  constructor(code: string, syscall: string, hostname: string) {
    super(`${syscall} ${code} ${hostname}`);
    this.name = 'Error';
    this.code = code;
    this.syscall = syscall;
    this.hostname = hostname;
  }
}

const NODE_CODES: Readonly<Record<DnsErrorCode, string>> = {
  TIMEOUT: 'ETIMEOUT',
  SERVFAIL: 'ESERVFAIL',
  REFUSED: 'EREFUSED',
  FORMERR: 'EFORMERR',
  NOTIMP: 'ENOTIMP',
  NETWORK: 'ECONNREFUSED',
  BADNAME: 'EBADNAME',
  BADRESPONSE: 'EBADRESP',
  ABORTED: 'ECANCELLED',
};

const SYSCALLS: Readonly<Record<RecordType, string>> = {
  A: 'queryA',
  AAAA: 'queryAaaa',
  MX: 'queryMx',
  TXT: 'queryTxt',
  PTR: 'queryPtr',
  NS: 'queryNs',
  CNAME: 'queryCname',
  SOA: 'querySoa',
  TLSA: 'queryTlsa',
};

function isRecordType(t: string): t is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(t);
}

function nodeSoa(s: SoaRecord): Record<string, unknown> {
  return { nsname: s.mname, hostmaster: s.rname, serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire, minttl: s.minimum };
}

/** A `resolve(name, rrtype)` function over `resolver`; `signal`, when given, bounds every lookup. */
export function nodeStyleResolve(resolver: Resolver, signal?: AbortSignal): NodeStyleResolve {
  return async (name: string, rrtype = 'A'): Promise<unknown> => {
    const type = String(rrtype).toUpperCase();
    if (!isRecordType(type)) {
      throw Object.assign(new TypeError(`The argument 'rrtype' is invalid. Received '${String(rrtype)}'`), { code: 'ERR_INVALID_ARG_VALUE' });
    }
    const answer = await resolver.lookup(name, type, signal);
    if (answer.kind === 'none') throw new NodeDnsError(answer.reason === 'nxdomain' ? 'ENOTFOUND' : 'ENODATA', SYSCALLS[type], name);
    if (answer.kind === 'error') throw new NodeDnsError(NODE_CODES[answer.code], SYSCALLS[type], name);
    const records: readonly unknown[] = answer.records;
    switch (type) {
      case 'SOA':
        return nodeSoa(records[0] as SoaRecord);
      case 'TXT':
        return records.map((r) => [...(r as string[])]);
      case 'MX':
        return records.map((r) => ({ ...(r as object) }));
      default:
        return [...records];
    }
  };
}
