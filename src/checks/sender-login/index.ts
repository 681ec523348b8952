/**
 * The sender-login check (Postfix's reject_sender_login_mismatch with smtpd_sender_login_maps): a
 * session that passed SMTP AUTH may send only as addresses its account owns (owners.ts). At MAIL,
 * a reverse-path it does not own is SENDER_LOGIN_MISMATCH (553 5.7.1 Sender address rejected: not
 * owned by user). The null reverse-path is not checked there, as in Postfix: RFC 5321 §4.5.5 and
 * RFC 8098 §2.1 make it the sender of notifications (DSNs, read receipts) a user's client may
 * submit, and it claims no address — its From: is still checked. At end of data (`headerFrom`),
 * every mailbox of every RFC 5322 From: field (§3.6.2 allows several, each an author) must be
 * owned, else HEADER_FROM_LOGIN_MISMATCH (550 5.7.1); a From: field in which no mailbox can be
 * read counts as not owned (what we cannot read, a receiver's client may still show). A message
 * without From: is not judged here. Clients that relay without AUTH (outbound.trustedNetworks) are
 * not checked. Every mismatch is logged as outbound.sender-mismatch (with `observed` in observe
 * mode, where the mail is accepted); never a password, which this check never sees.
 * Trusts: the `outbound` session fact (set by the inbound handler after AUTH), the map file.
 * Fails: a map file that cannot be read or parsed throws, which the runner turns into
 * SENDER_LOGIN_TEMPFAIL (451) unless failOpen; it is read again on the next use.
 */
import { addressParser } from 'postal-mime';
import { formatMailbox, type ReversePath } from '../../smtp/address.js';
import { headerFromNotOwned, senderNotOwned } from '../../smtp/reply.js';
import type { MessageView } from '../../pipeline/message.js';
import type { Check, Finding, PhaseContext, SymbolDef } from '../../pipeline/types.js';
import type { Logger } from '../../platform/logger.js';
import { addressKey, EMPTY_MAP, mailboxKey, ownsByMap, ownsDirectly, parseSenderLoginMap, type Login, type SenderLoginMap } from './owners.js';

import type { SenderLoginConfig } from './config.js';

export { senderLoginSchema, type SenderLoginConfig } from './config.js';

export const SENDER_LOGIN_SYMBOLS: readonly SymbolDef[] = [
  {
    name: 'SENDER_LOGIN_MISMATCH',
    description: 'MAIL FROM is an address the authenticated account does not own',
    score: 0,
    action: 'reject',
    reply: (action) => (action === 'reject' ? senderNotOwned() : null),
  },
  {
    name: 'HEADER_FROM_LOGIN_MISMATCH',
    description: 'A From: mailbox is an address the authenticated account does not own',
    score: 0,
    action: 'reject',
    reply: (action) => (action === 'reject' ? headerFromNotOwned() : null),
  },
];

export interface SenderLoginPorts {
  readonly readText: (path: string) => Promise<string>;
  readonly logger?: Pick<Logger, 'warn'>;
}

function loginOf(ctx: PhaseContext): Login | null {
  const o = ctx.facts.outbound;
  return o?.by === 'auth' && o.account !== null ? { account: o.account, addresses: o.addresses ?? [] } : null;
}

/** The From: mailboxes, field by field; null for a field in which none can be read. */
function fromMailboxes(view: MessageView): (string[] | null)[] {
  return view.headersNamed('from').map((f) => {
    let list: string[];
    try {
      list = addressParser(f.value, { flatten: true })
        .map((a) => (typeof a.address === 'string' ? a.address.trim() : ''))
        .filter((a) => a !== '');
    } catch {
      list = [];
    }
    return list.length > 0 ? list : null;
  });
}

export function senderLoginCheck(config: SenderLoginConfig, ports: SenderLoginPorts): Check {
  let loading: Promise<SenderLoginMap> | null = null;
  const map = (): Promise<SenderLoginMap> => {
    if (config.map === undefined) return Promise.resolve(EMPTY_MAP);
    const path = config.map;
    if (!loading) {
      const p = ports.readText(path).then(
        (text) => {
          try {
            return parseSenderLoginMap(text);
          } catch (e) {
            throw new Error(`sender login map ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
          }
        },
        (e: unknown) => {
          throw new Error(`sender login map ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
        },
      );
      // A failure is not kept: the next use reads the file again.
      p.catch(() => {
        if (loading === p) loading = null;
      });
      loading = p;
    }
    return loading;
  };
  const owns = async (login: Login, key: string): Promise<boolean> => ownsDirectly(login, key) || ownsByMap(await map(), login.account, key);
  const report = (ctx: PhaseContext, login: Login, field: 'mailFrom' | 'from', address: string): void => {
    ports.logger?.warn('outbound.sender-mismatch', { session: ctx.session.id, client: ctx.session.clientIp, account: login.account, field, address, observed: config.observe });
  };

  return {
    name: 'sender-login',
    symbols: SENDER_LOGIN_SYMBOLS,
    open: () => ({
      mailFrom: async (from: ReversePath, _params, ctx): Promise<Finding[]> => {
        const login = loginOf(ctx);
        if (!login || from === null) return [];
        if (await owns(login, mailboxKey(from))) return [];
        const address = formatMailbox(from);
        report(ctx, login, 'mailFrom', address);
        return [{ symbol: 'SENDER_LOGIN_MISMATCH', detail: `account ${login.account} does not own ${address}` }];
      },
      data: async (view, ctx): Promise<Finding[]> => {
        const login = loginOf(ctx);
        if (!config.headerFrom || !login) return [];
        const foreign: string[] = [];
        for (const field of fromMailboxes(view)) {
          if (field === null) {
            foreign.push('(no readable address)');
            continue;
          }
          for (const a of field) {
            const key = addressKey(a);
            if (key === null || !(await owns(login, key))) foreign.push(a);
          }
        }
        if (foreign.length === 0) return [];
        for (const a of foreign) report(ctx, login, 'from', a);
        return [{ symbol: 'HEADER_FROM_LOGIN_MISMATCH', detail: `account ${login.account} does not own From: ${foreign.slice(0, 5).join(', ')}` }];
      },
    }),
  };
}
