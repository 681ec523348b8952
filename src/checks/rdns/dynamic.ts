/**
 * Does a host name look like an address in a provider's pool rather than a mail server's own
 * name? Two tests: the client's own address written into the name (203-0-113-5, 5.113.0.203,
 * cb007105), and operator-configurable patterns of generic words (dsl, dyn, pool, dhcp, ...),
 * matched against the name without its last two labels, so that the provider's own domain
 * ("dynamics.example", "cablecompany.example") never decides.
 * Trusts: the operator's patterns (validated as regular expressions by the config schema).
 * Fails: never; a name that fits nothing is not dynamic.
 */
import { ipFamily } from '../client-ip.js';

/** The default generic-name patterns (case-insensitive); each matches a word between separators or digits. */
export const DEFAULT_DYNAMIC_PATTERNS: readonly string[] = [
  '(^|[^a-z])(dyn|dynamic|dynip|dhcp|dial|dialup|dialin|ppp|pppoe)([^a-z]|$)',
  '(^|[^a-z])(dsl|adsl|vdsl|xdsl|cable|broadband|fibre|fiber|ftth|cpe)([^a-z]|$)',
  '(^|[^a-z])(pool|client|clients|cust|customer|subscriber|resnet|residential)([^a-z]|$)',
  '(^|[^a-z])(static|nat|wireless|mobile|unused|unassigned|generic)([^a-z]|$)',
];

export interface DynamicMatcher {
  /** The reason the name looks dynamic ("address in name", "pattern /…/"), or null. */
  match(name: string, clientIp: string): string | null;
}

/** Compiles the patterns once (per config), case-insensitive. */
export function dynamicMatcher(patterns: readonly string[], addressInName: boolean): DynamicMatcher {
  const compiled = patterns.map((p) => new RegExp(p, 'i'));
  return {
    match(name, clientIp) {
      const n = name.toLowerCase();
      if (addressInName && containsAddress(n, clientIp)) return 'address in name';
      const host = n.split('.').slice(0, -2).join('.');
      if (host === '') return null;
      const hit = compiled.find((re) => re.test(host));
      return hit === undefined ? null : `pattern /${hit.source}/`;
    },
  };
}

/** Whether the IPv4 address appears in the name in order or reversed (any of - . _ x as separator, zero padding allowed), or as 8 hex digits. */
export function containsAddress(name: string, ip: string): boolean {
  if (ipFamily(ip) !== 4) return false;
  const o = ip.split('.').map(Number);
  const oct = (n: number | undefined): string => `0{0,2}${n ?? 0}`;
  const seq = (a: (number | undefined)[]): string => a.map(oct).join('[-._x]');
  const re = new RegExp(`(^|[^0-9])(${seq(o)}|${seq([...o].reverse())})([^0-9]|$)`);
  if (re.test(name)) return true;
  const hex = o.map((n) => n.toString(16).padStart(2, '0')).join('');
  return new RegExp(`(^|[^0-9a-f])${hex}([^0-9a-f]|$)`).test(name);
}
