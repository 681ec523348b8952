/**
 * Runs one check's RCPT phase the way the pipeline does (a fresh run per session, a context with
 * our domains), for tests of a single check against real peers.
 */
import type { Check, Finding, PhaseContext } from '../../src/pipeline/types.js';
import { parseMailbox, type Domain } from '../../src/smtp/address.js';

export const SESSION = { id: 'test', clientIp: '192.0.2.1', clientPort: 40000, localIp: '127.0.0.1', localPort: 25 } as const;

export function rcptContext(local: readonly string[] = ['example.test']): PhaseContext & { readonly from: null } {
  return { session: SESSION, facts: {}, tx: { authResults: [] }, isLocal: (d: Domain) => local.includes(d), from: null };
}

/** The findings of `check` for RCPT TO:<address> (throws on a malformed address). */
export async function rcptFindings(check: Check, address: string, signal: AbortSignal = AbortSignal.timeout(30_000)): Promise<Finding[]> {
  const m = parseMailbox(address);
  if (!m.ok) throw new Error(`bad test address ${address}`);
  const run = check.open(SESSION);
  if (!run.rcptTo) throw new Error(`${check.name} has no RCPT phase`);
  return run.rcptTo(m.value, rcptContext(), signal);
}

/** The symbols of a findings list, e.g. ["RCPT_USER_UNKNOWN"]. */
export const symbols = (f: readonly Finding[]): string[] => f.map((x) => x.symbol);
