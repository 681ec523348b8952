/**
 * The run-time sender lists in the console (src/senders):
 *   GET  /api/senders                 every entry, newest first, with who added it and when (view)
 *   POST /api/senders                 {list: allow|block, value, note?}: adds or moves one (senders)
 *   POST /api/senders/:id/remove      removes one (senders)
 * The quarantine's allow/block-sender actions (api-quarantine.ts) add entries through putSender.
 * After every change the workers re-read the entries at once (control op senders-reload), so the
 * sender's next message meets it. Every change is logged as admin.action with the user.
 * Fails: a bad value is a 400 saying why; a store that cannot be written a 503; a worker that did
 * not re-read is reported in `applied: false` (its periodic refresh catches up).
 */
import { isSenderListName, MAX_NOTE, parseSenderValue, type SenderEntry, type SenderListName } from '../senders/entries.js';
import { HttpError, json, readJson } from './http.js';
import { sessionOf, type ConsoleDeps, type Ctx, type RouteList } from './route.js';

/** Adds (or moves) an entry as the caller; whether the workers applied it already. */
export async function putSender(deps: ConsoleDeps, c: Ctx, list: SenderListName, raw: string, note: string): Promise<{ entry: SenderEntry; applied: boolean }> {
  const store = deps.senders;
  if (!store) throw new HttpError(503, 'the sender lists store is not available');
  const v = parseSenderValue(raw);
  if (!v.ok) throw new HttpError(400, v.error);
  const user = sessionOf(c).user;
  const entry = await store.put({ list, value: v.value, addedBy: user, addedAt: deps.now(), note: note.slice(0, MAX_NOTE) }).catch((e: unknown) => {
    throw new HttpError(503, `the sender lists store failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  const a = await deps.ask({ op: 'senders-reload' });
  deps.logger.info('admin.action', { user, action: `sender-${list}`, value: entry.value, id: entry.id });
  return { entry, applied: a.ok };
}

export function senderRoutes(deps: ConsoleDeps): RouteList {
  const store = () => {
    if (!deps.senders) throw new HttpError(503, 'the sender lists store is not available');
    return deps.senders;
  };
  return [
    [
      'GET',
      '/api/senders',
      {
        perm: 'view',
        async handle() {
          const entries = await store().list().catch((e: unknown) => {
            throw new HttpError(503, `the sender lists store failed: ${e instanceof Error ? e.message : String(e)}`);
          });
          return json({ items: entries });
        },
      },
    ],
    [
      'POST',
      '/api/senders',
      {
        perm: 'senders',
        async handle(c) {
          const body = await readJson(c.req, 4096);
          const list = body['list'];
          if (!isSenderListName(list)) throw new HttpError(400, 'list must be allow or block');
          const value = typeof body['value'] === 'string' ? body['value'] : '';
          const note = typeof body['note'] === 'string' ? body['note'] : '';
          return json({ ok: true, ...(await putSender(deps, c, list, value, note)) });
        },
      },
    ],
    [
      'POST',
      '/api/senders/:id/remove',
      {
        perm: 'senders',
        async handle(c) {
          const id = Number(c.params['id']);
          if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(400, 'bad entry id');
          const gone = await store().remove(id).catch((e: unknown) => {
            throw new HttpError(503, `the sender lists store failed: ${e instanceof Error ? e.message : String(e)}`);
          });
          if (!gone) throw new HttpError(404, `no sender entry ${id}`);
          const a = await deps.ask({ op: 'senders-reload' });
          deps.logger.info('admin.action', { user: sessionOf(c).user, action: 'sender-remove', value: gone.value, list: gone.list, id });
          return json({ ok: true, removed: gone, applied: a.ok });
        },
      },
    ],
  ];
}
