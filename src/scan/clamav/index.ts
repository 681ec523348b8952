/**
 * Antivirus at end of data: the whole message, as received, is streamed to ClamAV's clamd (which
 * decodes MIME and unpacks archives itself) before the final reply, so an infected message is
 * refused in the SMTP conversation (554 5.7.1) and never bounced.
 *
 * Size: clamd refuses a stream longer than its StreamMaxLength, so at most `clamav.maxSize` octets
 * are sent (keep it at or below StreamMaxLength). A longer message is scanned in part, its first
 * maxSize octets, and reported with CLAMAV_TRUNCATED (score 0, no action): visible in the
 * explanation, and the operator chooses what it means (policy.symbols.CLAMAV_TRUNCATED.action:
 * defer, quarantine...). Scanning the head rather than nothing still catches what sits there.
 *
 * Symbols: VIRUS_FOUND (detail = clamd's signature name; default action reject with
 * `554 5.7.1 Message rejected: virus found (NAME)`, the name left out with `nameInReply: false`).
 * Fails: clamd down, over its time budget or answering nonsense → the adapter throws → the runner
 * reports CLAMAV_TEMPFAIL (defer, 451 4.7.1) unless `checks.clamav.failOpen`, which accepts the
 * message unscanned and logs `check.fail-open` every time. Never "clean" without clamd's OK.
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { VirusScanner } from '../../platform/clamd.js';
import { virusFound } from '../../smtp/reply.js';
import type { ClamavConfig } from './config.js';
export { clamavSchema, clamavCheckSchema, type ClamavConfig } from './config.js';

export function clamavSymbols(c: Pick<ClamavConfig, 'nameInReply'>): SymbolDef[] {
  return [
    {
      name: 'VIRUS_FOUND',
      description: 'ClamAV found a virus (detail: the signature)',
      score: 0,
      action: 'reject',
      reply: (action, f) => (action === 'reject' ? virusFound(c.nameInReply ? f.detail : null) : null),
    },
    { name: 'CLAMAV_TRUNCATED', description: 'Message longer than clamav.maxSize: only its first maxSize octets were scanned', score: 0 },
  ];
}

export function clamav(config: ClamavConfig, scanner: VirusScanner): Check {
  return {
    name: 'clamav',
    symbols: clamavSymbols(config),
    open() {
      return {
        data: async (message, _ctx, signal): Promise<Finding[]> => {
          const r = await scanner.scan(message.stream(), signal);
          const found: Finding[] = [];
          if (r.virus !== null) found.push({ symbol: 'VIRUS_FOUND', detail: r.virus });
          if (r.scanned < message.size) found.push({ symbol: 'CLAMAV_TRUNCATED', detail: `scanned the first ${r.scanned} of ${message.size} octets` });
          return found;
        },
      };
    },
  };
}
