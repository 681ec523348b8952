/**
 * The effective config as the console shows it, secrets masked: the string values of every key
 * whose name says password, secret, token or key (bindPassword, passwordFile, passwordEnv, tls.key,
 * …), the user:password part of a URL, and a DNSBL zone that carries an access key (a site entry
 * with a public `reply` name). Nothing here reads a file the config names: a password file's
 * content is never read by the console.
 */
const SECRET_KEY = /password|passwd|secret|token|credential|(^|[a-z])key$|^key/i;
export const MASK = '••••••';

function maskString(s: string): string {
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${MASK}@`);
}

export function maskConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) ? MASK : maskString(value);
  if (Array.isArray(value)) return value.map((v) => maskConfig(v, key));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // A DNSBL site with a public reply name: the zone it names holds the subscriber's key.
    if (typeof o['site'] === 'string' && typeof o['reply'] === 'string') return { ...Object.fromEntries(Object.entries(o).map(([k, v]) => [k, maskConfig(v, k)])), site: MASK };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, maskConfig(v, k)]));
  }
  return value;
}
