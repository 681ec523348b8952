/**
 * SpamAssassin at end of data, through spamd (SYMBOLS). Its judgement becomes ONE symbol,
 * SPAMD_SCORE, weighted by spamd's score: the policy score of SPAMD_SCORE is a multiplier (default
 * 1, so spamd's 6.2 adds 6.2 to Moat's total; 0.5 halves SpamAssassin's say). spamd's rule names go
 * in the detail ("6.2/5.0: BAYES_99, HTML_MESSAGE"). Why not one symbol per SpamAssassin rule: the
 * rule scores are spamd's (its config, its Bayes), not Moat's, and SYMBOLS gives names without
 * scores; SA_<RULE> symbols with invented scores would make the explanation claim weights nobody
 * set. One weighted symbol keeps Moat's total equal to what each scanner really said.
 *
 * spamd sees the message as the LAN server will: with the Received: field Moat prepends (client
 * address and HELO), so SpamAssassin's relay-path rules judge the real client rather than the hop
 * before it. Messages over `spamassassin.maxSize` are not sent (spamc's rule: big mail is rarely
 * spam and costly to scan) and get SPAMD_SKIPPED (score 0).
 *
 * Fails: spamd down, slow or answering an error → the adapter throws → SPAMD_TEMPFAIL (defer,
 * 451 4.7.1) unless `checks.spamassassin.failOpen` (logged as check.fail-open every time).
 */
import type { Check, Finding, SymbolDef } from '../../pipeline/types.js';
import type { SpamdScanner } from '../../platform/spamd.js';
import type { SpamassassinConfig } from './config.js';
export { spamassassinSchema, spamassassinCheckSchema, type SpamassassinConfig } from './config.js';

export const SPAMD_SYMBOLS: readonly SymbolDef[] = [
  { name: 'SPAMD_SCORE', description: "SpamAssassin's score, as weight: the symbol's score multiplies it (detail: spamd's score/required and rules)", score: 1 },
  { name: 'SPAMD_SKIPPED', description: 'Message larger than spamassassin.maxSize, not sent to spamd', score: 0 },
];

/** "1003.3/5.0 spam: GTUBE, MISSING_DATE" (at most 40 rules). */
function detailOf(v: { isSpam: boolean; score: number; threshold: number; rules: readonly string[] }): string {
  const rules = v.rules.length > 40 ? [...v.rules.slice(0, 40), `+${v.rules.length - 40} more`] : v.rules;
  return `${v.score}/${v.threshold}${v.isSpam ? ' spam' : ''}: ${rules.length > 0 ? rules.join(', ') : '(no rules hit)'}`;
}

export function spamassassin(config: SpamassassinConfig, scanner: SpamdScanner): Check {
  return {
    name: 'spamd',
    symbols: SPAMD_SYMBOLS,
    open() {
      return {
        data: async (message, ctx, signal): Promise<Finding[]> => {
          if (message.size > config.maxSize) return [{ symbol: 'SPAMD_SKIPPED', detail: `${message.size} octets > ${config.maxSize}` }];
          const prefix = Buffer.from(ctx.received ?? '', 'utf8');
          const v = await scanner.check({ prefix, content: message.stream(), size: message.size }, signal);
          return [{ symbol: 'SPAMD_SCORE', weight: v.score, detail: detailOf(v) }];
        },
      };
    },
  };
}
