/**
 * Rspamd at end of data (POST /checkv2, with the envelope: client IP, HELO, MAIL FROM, every RCPT,
 * queue id and the client's verified host name when the rdns check established it). Its judgement
 * becomes ONE symbol, RSPAMD_SCORE, weighted by Rspamd's score (the policy score of RSPAMD_SCORE is
 * the multiplier, default 1), with Rspamd's own symbols and their scores in the detail
 * ("15/15 reject: GTUBE(0), ..."), for the same reason as SpamAssassin's (spamd/index.ts): Moat's
 * total then says exactly what Rspamd said, and the detail shows why.
 *
 * Rspamd's action ("reject", "soft reject", "greylist", "add header", "rewrite subject") is reported
 * as RSPAMD_ACTION_REJECT / RSPAMD_ACTION_DEFER / RSPAMD_ACTION_TAG (score 0). With
 * `rspamd.honourActions: true` these carry the matching hard action (reject, defer, tag), so Rspamd's
 * own thresholds decide; by default (false) they only inform and Moat's thresholds decide over the
 * score. Note that Rspamd's "greylist" needs its greylist module (Redis) to ever let a retry pass.
 * Messages over `rspamd.maxSize` are not sent (RSPAMD_SKIPPED, score 0).
 *
 * Fails: rspamd down, slow or answering an error → the adapter throws → RSPAMD_TEMPFAIL (defer,
 * 451 4.7.1) unless `checks.rspamd.failOpen` (logged as check.fail-open every time).
 */
import type { Check, Finding, HardAction, SymbolDef } from '../../pipeline/types.js';
import type { RspamdScanner, RspamdVerdict } from '../../platform/rspamd.js';
import { formatMailbox } from '../../smtp/address.js';
import type { RspamdConfig } from './config.js';
export { rspamdSchema, rspamdCheckSchema, type RspamdConfig } from './config.js';

/** Rspamd's action → our symbol and the hard action it carries with honourActions. */
const ACTIONS: Readonly<Record<string, { symbol: string; action: HardAction }>> = {
  reject: { symbol: 'RSPAMD_ACTION_REJECT', action: 'reject' },
  'soft reject': { symbol: 'RSPAMD_ACTION_DEFER', action: 'defer' },
  greylist: { symbol: 'RSPAMD_ACTION_DEFER', action: 'defer' },
  'add header': { symbol: 'RSPAMD_ACTION_TAG', action: 'tag' },
  'rewrite subject': { symbol: 'RSPAMD_ACTION_TAG', action: 'tag' },
};

export function rspamdSymbols(c: Pick<RspamdConfig, 'honourActions'>): SymbolDef[] {
  const hard = (a: HardAction): { action?: HardAction } => (c.honourActions ? { action: a } : {});
  return [
    { name: 'RSPAMD_SCORE', description: "Rspamd's score, as weight: the symbol's score multiplies it (detail: Rspamd's symbols)", score: 1 },
    { name: 'RSPAMD_SKIPPED', description: 'Message larger than rspamd.maxSize, not sent to Rspamd', score: 0 },
    { name: 'RSPAMD_ACTION_REJECT', description: 'Rspamd says reject', score: 0, ...hard('reject') },
    { name: 'RSPAMD_ACTION_DEFER', description: 'Rspamd says soft reject or greylist', score: 0, ...hard('defer') },
    { name: 'RSPAMD_ACTION_TAG', description: 'Rspamd says add header or rewrite subject', score: 0, ...hard('tag') },
  ];
}

/** "15/15 reject: GTUBE(0), MISSING_DATE(1)": Rspamd's symbols, those that weigh most first (at most 40). */
export function rspamdDetail(v: RspamdVerdict): string {
  const syms = [...v.symbols].sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.name.localeCompare(b.name));
  const shown = syms.slice(0, 40).map((s) => `${s.name}(${Math.round(s.score * 100) / 100})`);
  if (syms.length > 40) shown.push(`+${syms.length - 40} more`);
  return `${Math.round(v.score * 100) / 100}/${v.requiredScore} ${v.action}: ${shown.length > 0 ? shown.join(', ') : '(no symbols)'}`;
}

export function rspamd(config: RspamdConfig, scanner: RspamdScanner): Check {
  return {
    name: 'rspamd',
    symbols: rspamdSymbols(config),
    open(session) {
      return {
        data: async (message, ctx, signal): Promise<Finding[]> => {
          if (message.size > config.maxSize) return [{ symbol: 'RSPAMD_SKIPPED', detail: `${message.size} octets > ${config.maxSize}` }];
          const rdns = ctx.facts.rdns;
          const envelope = {
            ip: session.clientIp,
            from: ctx.from ? formatMailbox(ctx.from) : '<>',
            rcpt: ctx.recipients.map(formatMailbox),
            ...(ctx.facts.helo !== undefined ? { helo: ctx.facts.helo } : {}),
            ...(ctx.queueId !== undefined ? { queueId: ctx.queueId } : {}),
            // Only what the rdns check verified; without it, no claim either way.
            ...(rdns ? { hostname: rdns.confirmed && rdns.name ? rdns.name : 'unknown' } : {}),
          };
          const v = await scanner.check({ content: message.stream(), size: message.size, envelope }, signal);
          const found: Finding[] = [{ symbol: 'RSPAMD_SCORE', weight: v.score, detail: rspamdDetail(v) }];
          const a = ACTIONS[v.action];
          if (a) found.push({ symbol: a.symbol, detail: v.message ? `${v.action}: ${v.message}` : v.action });
          return found;
        },
      };
    },
  };
}
