/**
 * Config slices of recipient validation (CONVENTIONS.md 8). Two parts:
 *  - `recipientsDomainSchema`, under `domains.<domain>.recipients`: where this domain's users are
 *    known (sources, tried in order), what to do when no source can answer, how local parts compare;
 *  - `recipientsCheckSchema`, under `checks.recipients`: on/off, observe, fail-open, and the
 *    verification cache and probe limits shared by all domains.
 * src/relay/config.ts imports the domain slice (it composes the domain entry); nothing here
 * imports the relay. Defaults live only here.
 */
import { z } from 'zod';
import { parseHostPort } from '../../config/address.js';
import { duration } from '../../config/duration.js';
import { checkCommon } from '../options.js';

/** "ldap://IP[:port]" or "ldaps://IP[:port]": an IP address, so no name is ever resolved outside our resolver. */
export function parseLdapUrl(url: string): { secure: boolean; host: string; port: number } | null {
  const m = /^(ldaps?):\/\/(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(:\d{1,5})?\/?$/.exec(url);
  if (!m) return null;
  const secure = m[1] === 'ldaps';
  const hp = parseHostPort(`${m[2] as string}${m[3] ?? (secure ? ':636' : ':389')}`);
  return hp ? { secure, ...hp } : null;
}

/** A filter template: substitutions %s (address), %u (local part), %d (domain), %% (a percent sign). */
export function checkFilterTemplate(t: string): string | null {
  if (!t.startsWith('(') || !t.endsWith(')')) return 'must be one LDAP filter in parentheses (RFC 4515)';
  let depth = 0;
  const chars = [...t.replace(/\\./g, '')];
  for (const [i, c] of chars.entries()) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return 'unbalanced parentheses';
    if (depth === 0 && i < chars.length - 1) return 'must be one LDAP filter in parentheses (RFC 4515)';
  }
  if (depth !== 0) return 'unbalanced parentheses';
  const subs = t.match(/%./g) ?? [];
  if (subs.some((s) => !['%s', '%u', '%d', '%%'].includes(s))) return 'only %s, %u, %d and %% may follow a percent sign';
  if (!subs.some((s) => s === '%s' || s === '%u')) return 'must use %s (the address) or %u (its local part)';
  return null;
}

/** An entry of a static list: "user@domain" or "@domain" (every local part of the domain). */
const staticEntry = z.string().min(2).max(320).regex(/^[^\s<>]*@[^\s<>@]+$/, 'expected "user@domain" or "@domain"');

const staticSource = z
  .object({
    type: z.literal('static').describe('A list of addresses in the config and/or a file'),
    addresses: z.array(staticEntry).default([]).describe('Addresses of this domain that exist; "@domain" accepts every local part'),
    file: z
      .string()
      .min(1)
      .optional()
      .describe('File with one address per line ("#" starts a comment); read on first use, again after SIGHUP'),
  })
  .strict()
  .refine((s) => s.addresses.length > 0 || s.file !== undefined, { message: 'a static source needs addresses, a file, or both' });

const ldapSource = z
  .object({
    type: z.literal('ldap').describe('An LDAP search (Active Directory, OpenLDAP)'),
    url: z
      .string()
      .refine((u) => parseLdapUrl(u) !== null, { message: 'expected "ldap://IP[:port]" or "ldaps://IP[:port]" (an IP address: names are not resolved)' })
      .describe('Directory server, "ldap://10.0.0.7" or "ldaps://10.0.0.7:636" (Active Directory: the Global Catalog, port 3268/3269, sees every domain)'),
    bindDn: z.string().min(1).optional().describe('DN to bind as; anonymous when absent'),
    passwordFile: z.string().min(1).optional().describe('File holding the bind password (one trailing newline is dropped)'),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional()
      .describe('Name of the environment variable holding the bind password'),
    baseDn: z.string().min(1).describe('Search base, e.g. "dc=example,dc=com"'),
    scope: z.enum(['base', 'one', 'sub']).default('sub').describe('Search scope below baseDn'),
    filter: z
      .string()
      .superRefine((t, ctx) => {
        const problem = checkFilterTemplate(t);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('(mail=%s)')
      .describe(
        'Search filter; %s = the address, %u = its local part, %d = its domain, each escaped (RFC 4515 §3). ' +
          'Active Directory: "(proxyAddresses=smtp:%s)"; OpenLDAP with aliases: "(|(mail=%s)(mailLocalAddress=%s))"',
      ),
    timeout: duration('Deadline for connecting, binding and searching; past it the source counts as unavailable').prefault('5s'),
    tls: z
      .object({
        verify: z.boolean().default(true).describe('Verify the server certificate of ldaps:// (the bind password travels over it)'),
        ca: z.string().optional().describe('PEM file of the CA that signed the directory server certificate'),
        servername: z.string().optional().describe('Name expected in the certificate; default: the IP address of the URL'),
      })
      .strict()
      .prefault({})
      .describe('TLS toward an ldaps:// server'),
  })
  .strict()
  .refine((s) => (s.bindDn === undefined ? s.passwordFile === undefined && s.passwordEnv === undefined : (s.passwordFile === undefined) !== (s.passwordEnv === undefined)), {
    message: 'with bindDn give exactly one of passwordFile and passwordEnv; without bindDn (anonymous) give neither',
  });

const verifySource = z
  .object({
    type: z.literal('verify').describe('Ask the domain\'s LAN servers (relay): MAIL and RCPT on a new connection, never DATA'),
    sender: z
      .string()
      .max(254)
      .regex(/^(?:|[^\s<>@]+@[^\s<>@]+)$/, 'expected "" (the null sender) or an address')
      .default('')
      .describe('MAIL FROM of the probe: "" is the null sender <>; set an address for a LAN server that refuses <>'),
  })
  .strict();

export const recipientSourceSchema = z.discriminatedUnion('type', [staticSource, ldapSource, verifySource]);

export const recipientsDomainSchema = z
  .object({
    sources: z
      .array(recipientSourceSchema)
      .min(1)
      .describe('Where users are known, tried in order: a recipient is accepted by the first source that knows it, rejected (550 5.1.1) only when every source said it does not exist'),
    onUnavailable: z
      .enum(['defer', 'accept'])
      .default('defer')
      .describe('When a source could not answer (LDAP or LAN server down or slow) and none knew the recipient: "defer" answers 451 4.4.3, "accept" takes the mail (the LAN server decides at delivery)'),
    caseSensitive: z
      .boolean()
      .default(false)
      .describe('Compare local parts case-sensitively (RFC 5321 §2.4 allows it; Postfix and Exchange do not); for static lists and the cache'),
    recipientDelimiter: z
      .string()
      .regex(/^[+\-_=.]$/, 'one of + - _ = .')
      .optional()
      .describe('Subaddress delimiter, e.g. "+": "bob+news@" is also accepted when "bob@" is known to a static or LDAP source'),
  })
  .strict()
  .describe('Recipient validation for this domain; absent: every local part is accepted (configure one so Moat never has to bounce)');

export const recipientsCheckSchema = z
  .object({
    ...checkCommon,
    verify: z
      .object({
        positiveTtl: duration('How long an address the LAN server accepted is remembered').prefault('7d'),
        negativeTtl: duration('How long an address the LAN server refused is remembered (a temporary failure is never cached)').prefault('3h'),
        timeout: duration('Deadline of one probe (connect, EHLO, MAIL, RCPT); past it the LAN server counts as unavailable').prefault('10s'),
        maxConcurrent: z.number().int().min(1).max(1000).default(8).describe('Probes in flight at once, per worker; more wait their turn'),
      })
      .strict()
      .prefault({})
      .describe('Verification by asking the LAN server (sources of type "verify")'),
  })
  .strict()
  .prefault({})
  .describe('Recipient validation (per domain under domains.<name>.recipients)');

export type RecipientSource = z.infer<typeof recipientSourceSchema>;
export type StaticSourceConfig = Extract<RecipientSource, { type: 'static' }>;
export type LdapSourceConfig = Extract<RecipientSource, { type: 'ldap' }>;
export type VerifySourceConfig = Extract<RecipientSource, { type: 'verify' }>;
export type RecipientsDomainConfig = z.infer<typeof recipientsDomainSchema>;
export type RecipientsCheckConfig = z.infer<typeof recipientsCheckSchema>;
