/**
 * Connection options of the outbound client, validated once and frozen (CONVENTIONS.md 8). The host
 * must be an IP address: the client never resolves names (the relay chose the address from config).
 * Default timeouts are those of RFC 5321 §4.5.3.2; the relay may scale them down.
 */
import type { DaneExpectation } from './tlsa.js';
import { isIP } from 'node:net';
import { SmtpClientError } from './errors.js';
import { DEFAULT_REPLY_LIMITS, type ReplyLimits } from './reply-reader.js';

export type TlsPolicy = 'none' | 'opportunistic' | 'required';

export interface Timeouts {
  /** TCP connect, and the TLS handshake after STARTTLS. RFC 5321 names none; 30 s. */
  readonly connect: number;
  /** The 220 greeting, §4.5.3.2.1: 5 minutes. */
  readonly greeting: number;
  /** Each command's reply (EHLO, STARTTLS, MAIL §4.5.3.2.2, RCPT §4.5.3.2.3, DATA §4.5.3.2.4: 2-5 min). */
  readonly command: number;
  /** Each block of message data written, §4.5.3.2.5: 3 minutes. */
  readonly dataBlock: number;
  /** The reply to the final ".", §4.5.3.2.6: 10 minutes. */
  readonly dataEnd: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = Object.freeze({
  connect: 30_000,
  greeting: 300_000,
  command: 300_000,
  dataBlock: 180_000,
  dataEnd: 600_000,
});

export interface TlsOptions {
  readonly policy: TlsPolicy;
  /** rejectUnauthorized: check the chain (and the name, see `servername`). */
  readonly verify: boolean;
  /** SNI and the name checked in the certificate; without it the certificate must match the IP. */
  readonly servername?: string;
  /** Trust anchors for a LAN server with a private CA (PEM or DER). */
  readonly ca?: Buffer | readonly (string | Buffer)[];
  /**
   * DANE (RFC 7672): the chain must match one of these TLSA records instead of WebPKI verification
   * (tlsa.ts); `verify` and `ca` are then ignored. Use with policy 'required'.
   */
  readonly dane?: DaneExpectation;
}

export interface ConnectOptions {
  /** IPv4 or IPv6 address of the server; names are refused. */
  readonly host: string;
  readonly port: number;
  /** Our name in EHLO/HELO (RFC 5321 §4.1.1.1): a domain or an address literal. */
  readonly heloName: string;
  readonly localAddress?: string;
  readonly tls: TlsOptions;
  readonly timeouts?: Partial<Timeouts>;
  readonly limits?: Partial<ReplyLimits>;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly heloName: string;
  readonly localAddress: string | null;
  readonly tls: TlsOptions;
  readonly timeouts: Timeouts;
  readonly limits: ReplyLimits;
}

function invalid(message: string): SmtpClientError {
  return new SmtpClientError('INVALID_ARGUMENT', message, { transient: false });
}

const HELO_NAME = /^(?:\[[0-9A-Fa-f:.]+\]|\[IPv6:[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

export function resolveOptions(o: ConnectOptions): ResolvedOptions {
  if (isIP(o.host) === 0) throw invalid(`host must be an IP address, got ${JSON.stringify(o.host)}`);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw invalid(`bad port ${o.port}`);
  if (!HELO_NAME.test(o.heloName) || o.heloName.length > 255) throw invalid(`bad heloName ${JSON.stringify(o.heloName)}`);
  if (o.localAddress !== undefined && isIP(o.localAddress) === 0) throw invalid('localAddress must be an IP address');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  for (const [k, v] of Object.entries(timeouts)) {
    if (!Number.isFinite(v) || v <= 0) throw invalid(`timeout ${k} must be a positive number of ms`);
  }
  const limits = { ...DEFAULT_REPLY_LIMITS, ...o.limits };
  if (limits.maxLineOctets < 512 || limits.maxLines < 1) throw invalid('reply limits too small (RFC 5321 §4.5.3.1.5)');
  return Object.freeze({
    host: o.host,
    port: o.port,
    heloName: o.heloName,
    localAddress: o.localAddress ?? null,
    tls: Object.freeze({ ...o.tls }),
    timeouts: Object.freeze(timeouts),
    limits: Object.freeze(limits),
  });
}
