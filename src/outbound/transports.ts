/**
 * outbound.transports as routes (relay/routes.ts TransportRoute): the entry of the recipient domain,
 * else "*", else none (MX delivery). A bare "ip:port" is a smarthost with opportunistic STARTTLS.
 */
import type { TransportRoute } from '../relay/routes.js';
import type { TransportConfig } from './config.js';

export function transportFor(transports: Readonly<Record<string, TransportConfig>>, domain: string): TransportRoute | null {
  const t = Object.hasOwn(transports, domain) ? transports[domain] : Object.hasOwn(transports, '*') ? transports['*'] : undefined;
  if (t === undefined) return null;
  if (typeof t === 'string') return { relay: [t], tls: { policy: 'opportunistic', verify: false } };
  return { relay: t.relay, tls: t.tls };
}
