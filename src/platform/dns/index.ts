/** Moat's DNS resolver (see resolver.ts): the names the rest of the code imports. */
export type { DnsAnswer, DnsErrorCode, MxRecord, RecordOf, RecordType, Resolver, ResolverStats, SoaRecord, TlsaRecord } from './types.js';
export { RECORD_TYPES } from './types.js';
export { createResolver } from './resolver.js';
export type { ResolverOptions } from './resolver.js';
export { dnsSchema } from './config.js';
export type { DnsConfig } from './config.js';
export { systemServers, parseResolvConf } from './resolv-conf.js';
export { nodeStyleResolve, NodeDnsError } from './node-style.js';
export type { NodeStyleResolve } from './node-style.js';
export { normalizeName, reverseName } from './names.js';
