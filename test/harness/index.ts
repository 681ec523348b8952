// The test harness: real peers (dnsmasq, unbound, smtp-sink, aiosmtpd, Postfix, HAProxy, slapd, clamd, spamd, rspamd, spamass-milter,
// clamav-milter) and clients (swaks, smtp-source) on loopback, each started as a tracked child process. See each module's header.
export * from './aiosmtpd.js';
export * from './certs.js';
export * from './clamav-milter.js';
export * from './clamd.js';
export * from './dnsmasq.js';
export * from './haproxy.js';
export * from './openssl.js';
export * from './ports.js';
export * from './postfix.js';
export * from './postgres.js';
export * from './process.js';
export * from './redis.js';
export * from './rspamd.js';
export * from './scripted-dns.js';
export * from './slapd.js';
export * from './smtp-sink.js';
export * from './smtp-source.js';
export * from './smtplib.js';
export * from './spamass-milter.js';
export * from './spamd.js';
export * from './swaks.js';
export * from './tmp.js';
export * from './unbound.js';
export * from './wait.js';
export * from './mail-dkim.js';
