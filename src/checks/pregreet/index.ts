/**
 * The pregreet test (Postfix postscreen's): before the full greeting the engine sends only the first
 * line of a multi-line "220-" banner and waits; an SMTP client that talks before the greeting ends is
 * a bot that does not follow RFC 5321 §4.3.1 (PREGREET, default: 554 5.5.1 and close). A client that
 * waited is remembered in the state store for `remember`, so it is not delayed again. A store
 * failure means "not remembered" (wait again) — never a refusal.
 */
import { pregreetRejected } from '../../smtp/reply.js';
import type { Check, SymbolDef } from '../../pipeline/types.js';
import type { StateStore } from '../../store/state.js';
import type { PregreetConfig } from './config.js';
export { pregreetSchema, type PregreetConfig } from './config.js';

const SYMBOLS: readonly SymbolDef[] = [
  { name: 'PREGREET', description: 'Client talked before the greeting ended (SMTP bot)', score: 10, action: 'reject', reply: (action) => (action === 'reject' ? pregreetRejected() : null) },
];

const key = (ip: string): string => `pregreet:${ip}`;

export function pregreet(config: PregreetConfig, state: StateStore): Check {
  return {
    name: 'pregreet',
    symbols: SYMBOLS,
    open: (session) => ({
      greetWait: async () => ((await state.get(key(session.clientIp)).catch(() => null)) !== null ? 0 : config.wait),
      greeted: async (early) => {
        if (early.talkedFirst) return [{ symbol: 'PREGREET', detail: `${early.octets} octets before the greeting` }];
        await state.set(key(session.clientIp), '1', config.remember).catch(() => undefined);
        return [];
      },
    }),
  };
}
