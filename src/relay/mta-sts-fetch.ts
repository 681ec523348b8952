/**
 * Fetching an MTA-STS policy (RFC 8461 §3.3): GET https://mta-sts.<domain>/.well-known/mta-sts.txt.
 * The host name is resolved with Moat's resolver (never the system's) and the connection goes to
 * that address with the host name as SNI and as the name the certificate must carry (WebPKI roots
 * plus outbound.tls.ca); HTTP redirects are not followed (§3.3), only 200 with text/plain counts,
 * and at most 64 KiB are read. Every address of the host is tried in turn.
 * Trusts: the certificate chain as verified by node's TLS. Fails: rejects with a one-line reason.
 */
import { request } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import type { Resolver } from '../platform/dns/index.js';

const MAX_POLICY = 64 * 1024;

function getOnce(ip: string, host: string, port: number, ca: readonly (string | Buffer)[] | undefined, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: ip,
      port,
      path: '/.well-known/mta-sts.txt',
      method: 'GET',
      servername: host,
      headers: { host, accept: 'text/plain' },
      agent: false,
      rejectUnauthorized: true,
      checkServerIdentity: (_h, cert) => checkServerIdentity(host, cert),
      ...(ca ? { ca: [...ca] } : {}),
      signal,
    });
    req.on('response', (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`HTTP ${res.statusCode ?? '?'} from ${host}`));
        return;
      }
      if (!/^text\/plain\b/i.test(type)) {
        res.resume();
        reject(new Error(`media type ${type || 'none'} from ${host}, not text/plain`));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_POLICY) {
          req.destroy(new Error(`policy from ${host} larger than ${MAX_POLICY} octets`));
          return;
        }
        parts.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new Error(`${host} [${ip}]: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end();
  });
}

export function httpsPolicyFetcher(o: { readonly resolver: Resolver; readonly port: () => number; readonly ca: () => readonly (string | Buffer)[] | undefined }) {
  return async (domain: string, signal: AbortSignal): Promise<string> => {
    const host = `mta-sts.${domain}`;
    const a = await o.resolver.addresses(host);
    if (a.kind !== 'ok') throw new Error(`${host}: ${a.kind === 'error' ? a.code : 'no address'}`);
    let last: unknown = null;
    for (const ip of a.records) {
      try {
        return await getOnce(ip, host, o.port(), o.ca(), signal);
      } catch (e) {
        last = e;
        if (signal.aborted) break;
      }
    }
    throw last instanceof Error ? last : new Error(`${host}: no address answered`);
  };
}
